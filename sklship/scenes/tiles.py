"""A scene's window grid, evaluated tile by tile.

:func:`scan_tiles` reads one tile at a time (tiles overlap by
``window - stride`` pixels, so every window lies wholly in one tile) and
fills the grid of single-pass probabilities; :func:`refine_near_candidates`
then averages the 8 symmetries where they can change a detection.
"""

import numpy as np

__all__ = ["MIN_VALID", "refine_near_candidates", "scan_tiles"]

#: Smallest fraction of valid (not nodata) pixels of a window that is evaluated.
MIN_VALID = 0.5


def scan_tiles(source, grid, tile_size, evaluate, progress, areas=None):
    """Probability grid of the whole scene, evaluated tile by tile.

    Only one tile is read at a time (see :meth:`WindowGrid.tiles`). A window
    is NaN, and its tile not read when all of its windows are, if it lies
    wholly outside every area of ``areas`` (pixel space), or if more than
    half of its pixels are nodata (:data:`MIN_VALID`).

    Returns
    -------
    probabilities : ndarray of shape grid.shape
    evaluated : int
        Windows the engine evaluated.
    """
    import shapely

    probabilities = np.full(grid.shape, np.nan)
    evaluated = 0
    region = None
    if areas is not None:
        region = shapely.union_all(list(areas.values()))
        shapely.prepare(region)
    blocks = list(grid.tiles(tile_size))
    if progress:
        from tqdm.auto import tqdm

        blocks = tqdm(blocks, desc="scan", unit="tile")
    for grid_rows, grid_cols, rows, cols in blocks:
        keep = None
        if region is not None:
            if not region.intersects(shapely.box(cols.start, rows.start, cols.stop,
                                                 rows.stop)):
                continue
            i, j = np.meshgrid(np.arange(grid_rows.start, grid_rows.stop),
                               np.arange(grid_cols.start, grid_cols.stop), indexing="ij")
            top, left = grid.top_left(i, j)
            keep = region.intersects(shapely.box(left, top, left + grid.window,
                                                 top + grid.window))
        tile, valid = source.read(rows, cols)
        if valid is not None:
            enough = grid.window_means(valid) >= MIN_VALID
            keep = enough if keep is None else keep & enough
        if keep is not None and not keep.any():
            continue
        block = evaluate(tile)
        evaluated += block.size
        if keep is not None:
            block[~keep] = np.nan
        probabilities[grid_rows, grid_cols] = block
    return probabilities, evaluated


def refine_near_candidates(source, grid, tile_size, engine, probabilities):
    """Test-time augmentation where it can change a detection (in place).

    The single-pass grid of the whole scene decides where
    (:meth:`~sklship.scenes.engines.SharedEngine.candidate_boxes`; none for
    an engine that refines nothing); boxes larger than ``tile_size`` are
    split into tiles, each read again and averaged over the symmetries in
    batches (:meth:`~sklship.scenes.engines.SharedEngine.refine`).

    Returns
    -------
    refined : int
        Windows (not NaN) now averaged over the symmetries.
    """
    boxes = [block for box in engine.candidate_boxes(probabilities)
             for block in grid.tiles(tile_size, within=box)]
    if not boxes:
        return 0
    return int(engine.refine(probabilities, boxes, source.read_pixels).sum())
