"""asv: numbaconv.dask's chunked path against the in-memory path (cases in numbaconv.bench.dask).

Without dask installed (it is the optional extra ``dask``) no suite is defined,
so ``asv check`` still passes.
"""

from numbaconv.bench import PEERS, asv_suite, optional

if optional("dask.array") is not None:
    from numbaconv.bench.dask import CASES, INMEMORY

    Dask = asv_suite(CASES, "Dask")
    # time the in-memory numbaconv call too (asv_suite's setup looks any name up in the peers)
    Dask.params = [Dask.params[0], ["numbaconv", INMEMORY, *PEERS]]
