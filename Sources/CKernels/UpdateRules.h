// The update rules for one element type, included by UpdateKernels.c once per type with these macros defined:
//   T        the element type
//   T_MIN    its smallest normal magnitude
//   T_SQRT   its square root
//   NAME(x)  the name of this type's form of x
// Every loop is element-wise with no reduction, so the compiler vectorises it for each instruction set it is cloned
// for, and every clone gives the same result bit for bit (no fused multiply-add: see Cloning.h). `p` (read) and
// `out` (written) are the same buffer for an update in place; element i is read before it is written, so the loops
// are safe to vectorise either way, which `VECTORISE` tells the compiler.

static inline T NAME(flushed)(T x) { return x < T_MIN && x > -T_MIN ? 0 : x; }

static inline void NAME(sgd)(const backprop_update *u, const T *p, T *out, const T *restrict g, size_t n) {
    const T eta = (T)u->rate, lambda = (T)u->decay;
    VECTORISE
    for (size_t i = 0; i < n; i++) {
        out[i] = p[i] - eta * (g[i] + lambda * p[i]);
    }
}

static inline void NAME(momentum)(const backprop_update *u, const T *p, T *out, const T *restrict g, T *restrict v,
                                  size_t n, int nesterov) {
    const T eta = (T)u->rate, mu = (T)u->beta1, lambda = (T)u->decay;
    VECTORISE
    for (size_t i = 0; i < n; i++) {
        const T gi = g[i] + lambda * p[i];
        const T vi = NAME(flushed)(mu * v[i] + gi);
        v[i] = vi;
        out[i] = p[i] - eta * (nesterov ? gi + mu * vi : vi);
    }
}

static inline void NAME(adam)(const backprop_update *u, const T *p, T *out, const T *restrict g, T *restrict m,
                              T *restrict v, size_t n) {
    const T b1 = (T)u->beta1, b2 = (T)u->beta2, eps = (T)u->epsilon, lambda = (T)u->decay;
    const T step = (T)u->rate, c2 = (T)u->correction2, shrink = (T)u->shrink;
    VECTORISE
    for (size_t i = 0; i < n; i++) {
        const T gi = g[i] + lambda * p[i];
        const T mi = NAME(flushed)(b1 * m[i] + ((T)1 - b1) * gi);
        const T vi = NAME(flushed)(b2 * v[i] + ((T)1 - b2) * gi * gi);
        m[i] = mi;
        v[i] = vi;
        out[i] = p[i] - shrink * p[i] - step * mi / (T_SQRT(vi * c2) + eps);
    }
}

static inline void NAME(rmsprop)(const backprop_update *u, const T *p, T *out, const T *restrict g, T *restrict s,
                                 size_t n) {
    const T eta = (T)u->rate, rho = (T)u->beta1, eps = (T)u->epsilon, lambda = (T)u->decay;
    VECTORISE
    for (size_t i = 0; i < n; i++) {
        const T gi = g[i] + lambda * p[i];
        const T si = NAME(flushed)(rho * s[i] + ((T)1 - rho) * gi * gi);
        s[i] = si;
        out[i] = p[i] - eta * gi / (T_SQRT(si) + eps);
    }
}

static inline void NAME(adagrad)(const backprop_update *u, const T *p, T *out, const T *restrict g, T *restrict s,
                                 size_t n) {
    const T eta = (T)u->rate, eps = (T)u->epsilon, lambda = (T)u->decay;
    VECTORISE
    for (size_t i = 0; i < n; i++) {
        const T gi = g[i] + lambda * p[i];
        const T si = s[i] + gi * gi;
        s[i] = si;
        out[i] = p[i] - eta * gi / (T_SQRT(si) + eps);
    }
}

CLONED void NAME(backprop_update)(const backprop_update *u, const T *p, T *out, const T *g, T *s0, T *s1,
                                  size_t n) {
    switch (u->rule) {
    case backprop_rule_sgd: NAME(sgd)(u, p, out, g, n); break;
    case backprop_rule_momentum: NAME(momentum)(u, p, out, g, s0, n, 0); break;
    case backprop_rule_nesterov: NAME(momentum)(u, p, out, g, s0, n, 1); break;
    case backprop_rule_adam: NAME(adam)(u, p, out, g, s0, s1, n); break;
    case backprop_rule_rmsprop: NAME(rmsprop)(u, p, out, g, s0, n); break;
    case backprop_rule_adagrad: NAME(adagrad)(u, p, out, g, s0, n); break;
    }
}
