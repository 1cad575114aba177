// The sums and the byte conversion for one element type, included by VectorKernels.c once per type with these macros
// defined:
//   T        the element type
//   NAME(x)  the name of this type's form of x

// 64 running sums, element i going to sum i mod 64, then added pairwise (sum j + sum j+32, …): independent adds keep
// the vector units busy (a single running sum waits on each add's latency), and the fixed order makes every clone
// round alike.
CLONED T NAME(backprop_sum)(const T *x, size_t count, int squares) {
    enum { partials = 64 };
    T partial[partials] = {0};
    size_t i = 0;
    if (squares) {
        for (; i + partials <= count; i += partials) {
            VECTORISE
            for (size_t j = 0; j < partials; j++) partial[j] += x[i + j] * x[i + j];
        }
        for (size_t j = 0; i + j < count; j++) partial[j] += x[i + j] * x[i + j];
    } else {
        for (; i + partials <= count; i += partials) {
            VECTORISE
            for (size_t j = 0; j < partials; j++) partial[j] += x[i + j];
        }
        for (size_t j = 0; i + j < count; j++) partial[j] += x[i + j];
    }
    for (size_t width = partials / 2; width > 0; width /= 2) {
        for (size_t j = 0; j < width; j++) partial[j] += partial[j + width];
    }
    return partial[0];
}

CLONED void NAME(backprop_convert_bytes)(const uint8_t *restrict source, T *restrict target, size_t count, T scale) {
    VECTORISE
    for (size_t i = 0; i < count; i++) target[i] = (T)source[i] * scale;
}
