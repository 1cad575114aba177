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

// The two element-wise passes around a ReLU layer's matrix products, written as the graph's rules are
// (`x > 0 ? x : 0`, so that −0 and NaN give +0 as there): forward, z ← z + b row by row and a = max(z, 0) (or just the
// bias when `relu` is zero, `a` then unused); backward, δ = g where x > 0, else 0.
CLONED void NAME(backprop_bias_relu)(T *restrict z, const T *restrict bias, size_t rows, size_t columns, T *restrict a,
                                     int relu) {
    for (size_t r = 0; r < rows; r++) {
        T *restrict row = z + r * columns;
        VECTORISE
        for (size_t j = 0; j < columns; j++) row[j] += bias[j];
        if (!relu) continue;
        T *restrict activated = a + r * columns;
        VECTORISE
        for (size_t j = 0; j < columns; j++) activated[j] = row[j] > 0 ? row[j] : (T)0;
    }
}

CLONED void NAME(backprop_where_positive)(const T *restrict g, const T *restrict x, T *restrict out,
                                          size_t count) {
    VECTORISE
    for (size_t i = 0; i < count; i++) out[i] = x[i] > 0 ? g[i] : (T)0;
}
