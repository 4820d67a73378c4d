"""asv: numbaconv's convolve/convolve2d against scipy.signal, np.convolve and OpenCV filter2D.

Cases are defined once in numbaconv.bench.signal (also ``python -m numbaconv.bench.signal``).
"""

from numbaconv.bench import asv_suite
from numbaconv.bench.signal import CASES

Signal = asv_suite(CASES, "Signal")
