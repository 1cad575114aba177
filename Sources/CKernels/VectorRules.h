// The sums, the byte conversion, the ReLU passes and softmax + cross-entropy for one element type, included by
// VectorKernels.c once per type with these macros defined:
//   T          the element type
//   NAME(x)    the name of this type's form of x
//   EXP(x)     eˣ for x ≤ 0 or NaN (a vectorisable approximation for float, the C library's exp for double)
//   EXP_LOOP   VECTORISE when EXP vectorises, else nothing
//   LOG(x)     its natural logarithm

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

// Column sums of a rows × columns matrix (a bias gradient: Σ over the batch of δ), each column added from the first row
// to the last, as the graph's reduction adds them; vectorised across columns.
CLONED void NAME(backprop_column_sums)(const T *restrict x, size_t rows, size_t columns, T *restrict sums) {
    for (size_t j = 0; j < columns; j++) sums[j] = 0;
    for (size_t r = 0; r < rows; r++) {
        const T *restrict row = x + r * columns;
        VECTORISE
        for (size_t j = 0; j < columns; j++) sums[j] += row[j];
    }
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

CLONED void NAME(backprop_bias_relu_in_place)(T *restrict z, const T *restrict bias, size_t rows, size_t columns) {
    for (size_t r = 0; r < rows; r++) {
        T *restrict row = z + r * columns;
        VECTORISE
        for (size_t j = 0; j < columns; j++) {
            const T v = row[j] + bias[j];
            row[j] = v > 0 ? v : (T)0;
        }
    }
}

CLONED void NAME(backprop_where_positive)(const T *restrict g, const T *restrict x, T *restrict out,
                                          size_t count) {
    VECTORISE
    for (size_t i = 0; i < count; i++) out[i] = x[i] > 0 ? g[i] : (T)0;
}

// Softmax + cross-entropy against class labels, forward and backward in one pass over each row of logits z (the rule
// of the graph's `softmaxCrossEntropy`): with ŷ = softmax(z) and the target row y (one-hot, or
// (1 − ε)·one-hot + ε/classes with label smoothing ε), J = Σ over rows of logsumexp(z) − Σₖ yₖ zₖ and ∂J/∂z = ŷ − y,
// times `scale`. Writes δ, returns the summed loss and counts the rows whose first largest logit is their label. The
// exponentials of all rows are one loop, which vectorises; the rest runs along each row in order. Labels are in
// 0 ..< classes (checked by the caller).
CLONED double NAME(backprop_softmax_cross_entropy)(const T *restrict z, const intptr_t *labels, size_t rows,
                                                   size_t classes, T smoothing, T scale, T *restrict delta,
                                                   size_t *correct) {
    const T off = smoothing / (T)classes, on = (T)1 - smoothing + off;
    double loss = 0;
    size_t right = 0;
    // z − max z of every row into δ, and each row's Σₖ yₖ (zₖ − max z) into the loss.
    for (size_t r = 0; r < rows; r++) {
        const T *row = z + r * classes;
        T largest = row[0];
        size_t best = 0;
        for (size_t k = 1; k < classes; k++) {
            if (row[k] > largest) {
                largest = row[k];
                best = k;
            }
        }
        if ((intptr_t)best == labels[r]) right += 1;
        T target = 0;
        for (size_t k = 0; k < classes; k++) {
            delta[r * classes + k] = row[k] - largest;
            target += ((intptr_t)k == labels[r] ? on : off) * (row[k] - largest);
        }
        loss -= (double)target;
    }
    const size_t count = rows * classes;
    EXP_LOOP
    for (size_t i = 0; i < count; i++) delta[i] = EXP(delta[i]);
    for (size_t r = 0; r < rows; r++) {
        T *row = delta + r * classes;
        T sum = 0;
        for (size_t k = 0; k < classes; k++) sum += row[k];
        loss += (double)LOG(sum);
        for (size_t k = 0; k < classes; k++) row[k] = (row[k] / sum - ((intptr_t)k == labels[r] ? on : off)) * scale;
    }
    *correct = right;
    return loss;
}
