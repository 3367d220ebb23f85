# Makes the .npy and .npz files that tests/data/npy_test.cpp reads, with NumPy itself (1.24 when
# they were made), so that the reader is checked against the real format. Not run by the tests:
#   /usr/bin/python3 tests/data/npy/make_fixtures.py   (from the repository's root; needs python3-numpy)
import os
import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
x = np.arange(12, dtype='<f4').reshape(3, 4) / 4 - 1          # -1, -0.75, ..., 1.75
np.save(os.path.join(here, 'f4.npy'), x)
np.save(os.path.join(here, 'f8_fortran.npy'), np.asfortranarray(np.arange(6, dtype='<f8').reshape(2, 3) * 1.5))
np.save(os.path.join(here, 'i2_big.npy'), np.array([[-2, 300], [7, -32768]], dtype='>i2'))
np.save(os.path.join(here, 'u1.npy'), np.array([0, 9, 255], dtype='u1'))
np.save(os.path.join(here, 'b1.npy'), np.array([True, False, True]))
np.save(os.path.join(here, 'i8_large.npy'), np.array([1, 2**40], dtype='<i8'))
np.save(os.path.join(here, 'scalar.npy'), np.float64(2.5))
np.save(os.path.join(here, 'objects.npy'), np.array(['a', 'bc']))   # strings: refused
y = np.array([0, 2, 1], dtype='<i8')
target = np.array([[0.5], [-1.0], [2.0]], dtype='<f8')
np.savez(os.path.join(here, 'stored.npz'), x=x, y=y, target=target)
np.savez_compressed(os.path.join(here, 'deflated.npz'), x=x, y=y, target=target)
