"""Counter-based Gaussian noise: the same numbers on every Keras backend and on the host.

The noise tunnel's value for (seed s, sample i, element j) is a pure function of those three
integers (the counter-based idea of Salmon, Moraes, Dror & Shaw 2011, "Parallel random numbers:
as easy as 1, 2, 3"), so a device draws any sample's noise where it is needed, in any batch, and
the host can recompute it exactly. With h the 32-bit integer mixer "lowbias32" (Wellons 2018,
"Prospecting for hash functions": xor-shift 16, multiply 0x7feb352d, xor-shift 15, multiply
0x846ca68b, xor-shift 16), all arithmetic modulo 2^32:

    k_i = h(h(s) + i)                                  the key of sample i
    r_t = h(h(2j + t) xor k_i),  t = 0, 1              two words for element j
    u_t = ((r_t >> 8) + 1) / 2^24                      24-bit uniforms in (0, 1], never 0
    z   = sqrt(-2 ln u_0) cos(2 pi u_1)                Box-Muller (1958), float32

Element j counts the sample's (H, W, C) values in C order; seeds are taken modulo 2^32. The
integer part runs in int32 (JAX has no 64-bit integers by default, PyTorch little uint32
support): multiplication and addition wrap alike in two's complement, and each arithmetic right
shift is masked to make it logical. So the words are bit-identical on TensorFlow, JAX, PyTorch
and numpy (`gaussian_numpy`, the reference); the float part differs by float32 rounding of log
and cos only.
"""

from __future__ import annotations

from typing import Any

import numpy as np

M1 = 0x7FEB352D
M2 = 0x846CA68B
_M1_I32 = np.int32(M1)
_M2_I32 = np.int32(M2 - 2**32)  # the same 32 bits as a signed int32
_SCALE = np.float32(2.0**-24)
_TWO_PI = np.float32(2.0 * np.pi)
_MINUS_TWO = np.float32(-2.0)


def seed_word(seed: int) -> np.int32:
    """The seed as the int32 with its low 32 bits (seeds are taken modulo 2^32)."""
    return np.array([int(seed) % 2**32], np.uint32).view(np.int32)[0]


# numpy reference (uint32 arrays wrap silently)


def mix_numpy(x: np.ndarray) -> np.ndarray:
    """lowbias32 of each uint32 word."""
    x = np.asarray(x, np.uint32).copy()
    x ^= x >> np.uint32(16)
    x *= np.uint32(M1)
    x ^= x >> np.uint32(15)
    x *= np.uint32(M2)
    x ^= x >> np.uint32(16)
    return x


def words_numpy(size: int, seed: int, samples: np.ndarray) -> np.ndarray:
    """(m, size, 2) uint32: the words r_0, r_1 of each element of each sample."""
    hs = mix_numpy(np.array([int(seed) % 2**32], np.uint32))
    keys = mix_numpy(hs + np.asarray(samples, np.int64).astype(np.uint32))
    counters = mix_numpy(np.arange(2 * size, dtype=np.uint32))
    return mix_numpy(counters[None, :] ^ keys[:, None]).reshape(-1, size, 2)


def _box_muller_numpy(words: np.ndarray) -> np.ndarray:
    u = (((words >> np.uint32(8)) + np.uint32(1)).astype(np.float32)) * _SCALE
    radius = np.sqrt(_MINUS_TWO * np.log(u[..., 0]))
    return (radius * np.cos(_TWO_PI * u[..., 1])).astype(np.float32)


def gaussian_numpy(shape: tuple[int, ...], seed: int, i: int) -> np.ndarray:
    """Sample i's standard normal noise of `shape` (float32), computed on the host."""
    size = int(np.prod(shape))
    return _box_muller_numpy(words_numpy(size, seed, np.array([i])))[0].reshape(shape)


# keras.ops (compiled into the noise tunnel's pass, on any backend)


def _shift(x: Any, bits: int) -> Any:
    """Logical right shift of int32 words (an arithmetic shift, its sign bits masked off)."""
    from keras import ops

    return ops.bitwise_and(ops.right_shift(x, bits), (1 << (32 - bits)) - 1)


def mix(x: Any) -> Any:
    """lowbias32 of each int32 word (wrap-around arithmetic), as `mix_numpy`."""
    from keras import ops

    x = ops.bitwise_xor(x, _shift(x, 16))
    x = ops.multiply(x, _M1_I32)
    x = ops.bitwise_xor(x, _shift(x, 15))
    x = ops.multiply(x, _M2_I32)
    return ops.bitwise_xor(x, _shift(x, 16))


def words(size: int, seed: Any, samples: Any) -> Any:
    """(m, size, 2) int32 words of the samples `samples` (m,) int32; `seed` an int32 scalar."""
    from keras import ops

    keys = mix(ops.add(mix(ops.reshape(seed, (1,))), samples))
    counters = mix(ops.arange(2 * size, dtype="int32"))
    return ops.reshape(mix(ops.bitwise_xor(counters[None, :], keys[:, None])), (-1, size, 2))


def gaussian(shape: tuple[int, ...], seed: Any, samples: Any) -> Any:
    """(m, *shape) float32 standard normal noise of the samples `samples` (m,) int32."""
    from keras import ops

    size = int(np.prod(shape))
    w = _shift(words(size, seed, samples), 8)
    u = ops.multiply(ops.cast(ops.add(w, 1), "float32"), _SCALE)
    radius = ops.sqrt(ops.multiply(_MINUS_TWO, ops.log(u[..., 0])))
    z = ops.multiply(radius, ops.cos(ops.multiply(_TWO_PI, u[..., 1])))
    return ops.reshape(z, (-1, *shape))


def tunnel_sums(
    gradients: Any, x: Any, black: Any, carry: Any, points: tuple[Any, ...], noise: tuple[Any, Any],
    times_input: bool, path: bool,
) -> tuple[Any, Any, Any, Any]:  # fmt: skip
    """One batch of the noise tunnel, on the device: (sum a, sum (a - mean a)^2, carry, S).

    `points` = (sample, alpha, weight, last), each (m,): point k lies on noisy copy
    x_i = x + sigma z(seed, i), i = sample[k]; `noise` = (sigma, seed). Without `path` the point
    is x_i itself and its attribution a = dS/dx (times x_i - black when `times_input`). With
    `path` (the Integrated-Gradients base) it is black + alpha_k (x_i - black), and a sample's
    integral sums weight_k dS/dx over its points, which are consecutive; `carry` (1, H, W, C)
    holds the integral so far of a sample begun in the previous batch, and the returned carry
    that of a sample the next batch goes on with. `last` is 1 at a sample's last point (0 on
    padding): only there is its attribution complete and counted. `gradients(points)` -> (S,
    dS/dx) of a batch. The sums are over this batch's complete samples, (H, W, C) each; the
    squares are taken about the batch's mean (no float32 cancellation where the variance is
    small beside the mean: the caller merges batches with Chan et al.'s update).
    """
    from keras import ops

    sample, alpha, weight, last = points
    shape = tuple(int(d) for d in x.shape[1:])
    noisy = x + noise[0] * gaussian(shape, noise[1], sample)
    inputs = black + alpha[:, None, None, None] * (noisy - black) if path else noisy
    s, g = gradients(inputs)
    if path:
        seg = sample - sample[0]
        same = ops.cast(ops.equal(seg[:, None], seg[None, :]), "float32")  # same sample
        flat = ops.reshape(g * weight[:, None, None, None], (-1, int(np.prod(shape))))
        first = ops.cast(ops.equal(seg, 0), "float32")[:, None, None, None]
        a = ops.reshape(ops.matmul(same, flat), ops.shape(g)) + first * carry  # integral
        done = ops.matmul(same, last[:, None])[:, :, None, None]  # 1 when its last point is in
        size = ops.sum(same, axis=1)[:, None, None, None]
        carry = ops.sum((1.0 - done) * a / size, axis=0, keepdims=True)  # the open sample's
    else:
        a = g
    if times_input:
        a = (noisy - black) * a
    mask = last[:, None, None, None]
    total = ops.sum(mask * a, axis=0)
    mean = total / ops.maximum(ops.sum(last), 1.0)
    return total, ops.sum(mask * ops.square(a - mean), axis=0), carry, s
