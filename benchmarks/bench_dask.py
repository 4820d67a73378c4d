"""asv: numbaconv.dask's chunked path against the in-memory path (cases in numbaconv.bench.dask).

Without dask installed (it is the optional extra ``dask``) no suite is defined,
so ``asv check`` still passes.
"""

from numbaconv.bench import asv_suite, optional, suite_impls

if optional("dask.array") is not None:
    from numbaconv.bench.dask import CASES, INMEMORY

    # the in-memory numbaconv call is timed too (asv_suite's setup looks any name up in the peers)
    Dask = asv_suite(CASES, "Dask", impls=["numbaconv", INMEMORY, *suite_impls(CASES)[1:]])
