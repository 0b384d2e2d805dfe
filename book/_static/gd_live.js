/*
 * gd_live.js: the maths core of the book's in-page GAN Lab (issue #15).
 *
 * A small GAN on a 2-D target, trained in the browser with no kernel, no network and no
 * dependency. It follows gandemo's Python package step for step, in float64:
 *
 *   - MLP:      gandemo.models.mlp (Linear layers, LeakyReLU/ReLU/tanh hidden units, linear or
 *               tanh output), PyTorch's default initialisation U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
 *               and the flat weight layout of gandemo.models.MLPStack: per layer an (in, out)
 *               weight, row-major, then the out biases;
 *   - LOSSES:   gandemo.losses.LOSSES (same names, same formulas, means over the batch, softplus
 *               with PyTorch's threshold of 20), including WGAN-GP's gradient penalty, whose
 *               gradient with respect to the critic's weights is computed by double backprop;
 *   - Adam:     torch.optim.Adam (bias corrections, eps added to sqrt(v) / sqrt(1 - beta2^t));
 *   - SGD:      torch.optim.SGD without momentum (plain gradient descent, p <- p - lr * grad),
 *               the package's g_optimizer / d_optimizer = 'sgd'; either player may use either;
 *   - Trainer:  gandemo.training.Trainer's step: d_steps discriminator updates, each on a fresh
 *               real batch and a fresh fake batch G(z) (held fixed: no gradient into G), then
 *               one generator update through D on fresh latent codes; the optional moving
 *               average of G's weights (ema) and a learning-rate schedule as the book's recipes
 *               (ratesAt: gandemo.experiments.Recipe.rates_at); the controls that change a run in
 *               place, as Trainer.set_loss, set_d_steps, set_learning_rates; the statistics of
 *               every update (trainer.last) and the divergence check (trainer.diverged); the
 *               per-sample generator gradient d L_G / d G(z_i) (gGradient().sampleGrad);
 *   - ring, grid and modeCoverage: gandemo.data.ring/grid and gandemo.metrics.mode_coverage
 *               (modeCoverage can also count modes by groups of centres: see clusters).
 *
 * Arrays of n points in d dimensions are Float64Arrays of n * d numbers, row by row.
 * The random streams are this file's own (mulberry32 + Box-Muller): seeds give the same run in
 * every browser, but not the same numbers as PyTorch.
 *
 * A classic script (it works from file://): in a page it defines window.GdLive; under node,
 * require() returns the same object. tests/test_live_js.py checks it against the package.
 */
(function (root, factory) {
  'use strict';
  var lib = factory();
  if (typeof module === 'object' && module.exports) module.exports = lib;
  if (root) root.GdLive = lib;
})(typeof self !== 'undefined' ? self : (typeof globalThis !== 'undefined' ? globalThis : this),
function () {
  'use strict';

  // ------------------------------------------------------------------------------------------
  // Random numbers
  // ------------------------------------------------------------------------------------------

  /** Mix two integers into a 32-bit seed (murmur3's finaliser), for independent streams. */
  function mixSeed(seed, stream) {
    var h = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul((stream | 0) + 1, 0x85ebca77)) >>> 0;
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    return (h ^ (h >>> 16)) >>> 0;
  }

  /** A seeded stream: mulberry32 for 32-bit words, 53-bit uniforms, Box-Muller normals. */
  function Rng(seed) {
    this.state = seed >>> 0;
    this.spare = null; // Box-Muller makes normals in pairs
  }
  Rng.prototype.uint32 = function () {
    var t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  /** Uniform on [0, 1) with 53 random bits. */
  Rng.prototype.uniform = function () {
    return ((this.uint32() >>> 5) * 67108864 + (this.uint32() >>> 6)) / 9007199254740992;
  };
  /** Standard normal (Box-Muller; 1 - u is in (0, 1], so the log is finite). */
  Rng.prototype.normal = function () {
    if (this.spare !== null) {
      var s = this.spare;
      this.spare = null;
      return s;
    }
    var r = Math.sqrt(-2 * Math.log(1 - this.uniform()));
    var t = 2 * Math.PI * this.uniform();
    this.spare = r * Math.sin(t);
    return r * Math.cos(t);
  };
  /** n * d standard normals, a Float64Array. */
  Rng.prototype.normals = function (n, d) {
    var out = new Float64Array(n * d);
    for (var i = 0; i < out.length; i++) out[i] = this.normal();
    return out;
  };
  /** n uniforms on [0, 1) (WGAN-GP's mixing weights). */
  Rng.prototype.uniforms = function (n) {
    var out = new Float64Array(n);
    for (var i = 0; i < n; i++) out[i] = this.uniform();
    return out;
  };

  // ------------------------------------------------------------------------------------------
  // Dense layers: Y = X A + b, with A an (in, out) block of a flat parameter vector
  // ------------------------------------------------------------------------------------------

  function affine(X, n, p, wOff, inD, outD) {
    var Y = new Float64Array(n * outD), bOff = wOff + inD * outD;
    for (var i = 0; i < n; i++) {
      var y = i * outD;
      for (var o = 0; o < outD; o++) Y[y + o] = p[bOff + o];
      for (var k = 0; k < inD; k++) {
        var xk = X[i * inD + k], w = wOff + k * outD;
        if (xk === 0) continue;
        for (o = 0; o < outD; o++) Y[y + o] += xk * p[w + o];
      }
    }
    return Y;
  }

  /** Xbar = Ybar A^T (the gradient with respect to a layer's input). */
  function affineBackInput(Yb, n, p, wOff, inD, outD) {
    var Xb = new Float64Array(n * inD);
    for (var i = 0; i < n; i++) {
      for (var k = 0; k < inD; k++) {
        var s = 0, w = wOff + k * outD, y = i * outD;
        for (var o = 0; o < outD; o++) s += Yb[y + o] * p[w + o];
        Xb[i * inD + k] = s;
      }
    }
    return Xb;
  }

  /** grad[A] += X^T Ybar and, when withBias, grad[b] += column sums of Ybar. */
  function affineBackParams(X, Yb, n, g, wOff, inD, outD, withBias) {
    var bOff = wOff + inD * outD;
    for (var i = 0; i < n; i++) {
      var y = i * outD;
      for (var k = 0; k < inD; k++) {
        var xk = X[i * inD + k], w = wOff + k * outD;
        if (xk === 0) continue;
        for (var o = 0; o < outD; o++) g[w + o] += xk * Yb[y + o];
      }
      if (withBias) for (o = 0; o < outD; o++) g[bOff + o] += Yb[y + o];
    }
  }

  // ------------------------------------------------------------------------------------------
  // The multilayer perceptron
  // ------------------------------------------------------------------------------------------

  /**
   * An MLP with sizes = [in, hidden..., out].
   * opts.act: 'leaky_relu' (default, opts.slope 0.2), 'relu' or 'tanh' for the hidden units;
   * opts.output: 'linear' (default) or 'tanh'.
   */
  function MLP(sizes, opts) {
    opts = opts || {};
    this.sizes = sizes.slice();
    this.act = opts.act || 'leaky_relu';
    this.slope = this.act === 'relu' ? 0 : (opts.slope === undefined ? 0.2 : opts.slope);
    this.output = opts.output || 'linear';
    if (['leaky_relu', 'relu', 'tanh'].indexOf(this.act) < 0) throw new Error('act: ' + this.act);
    if (['linear', 'tanh'].indexOf(this.output) < 0) throw new Error('output: ' + this.output);
    this.offsets = [];
    var off = 0;
    for (var l = 0; l + 1 < sizes.length; l++) {
      this.offsets.push(off);
      off += sizes[l] * sizes[l + 1] + sizes[l + 1];
    }
    this.nParams = off;
    this.params = new Float64Array(off);
  }
  MLP.prototype.layers = function () { return this.sizes.length - 1; };

  /** PyTorch's nn.Linear initialisation: weights and biases U(-1/sqrt(in), 1/sqrt(in)). */
  MLP.prototype.init = function (rng) {
    for (var l = 0; l < this.layers(); l++) {
      var inD = this.sizes[l], outD = this.sizes[l + 1], bound = 1 / Math.sqrt(inD);
      for (var j = 0; j < inD * outD + outD; j++) {
        this.params[this.offsets[l] + j] = bound * (2 * rng.uniform() - 1);
      }
    }
    return this;
  };

  /** Hidden activation of a pre-activation value. */
  MLP.prototype.f = function (a) {
    if (this.act === 'tanh') return Math.tanh(a);
    return a > 0 ? a : a * this.slope;
  };
  /** Its derivative, from the pre-activation a and the activation h (as PyTorch computes it:
   *  LeakyReLU/ReLU: 1 where a > 0, else the slope; tanh: 1 - h^2). */
  MLP.prototype.df = function (a, h) {
    if (this.act === 'tanh') return 1 - h * h;
    return a > 0 ? 1 : this.slope;
  };

  /** Forward pass on n rows. Returns the cache: hs[l] is layer l's input (hs[0] = X),
   *  pres[l] its pre-activation; out the network's output (n * sizes[last]). */
  MLP.prototype.forward = function (X, n) {
    var hs = [X], pres = [], L = this.layers(), h = X;
    for (var l = 0; l < L; l++) {
      var inD = this.sizes[l], outD = this.sizes[l + 1];
      var pre = affine(h, n, this.params, this.offsets[l], inD, outD);
      pres.push(pre);
      var last = l === L - 1;
      if (last && this.output === 'linear') {
        h = pre;
      } else {
        h = new Float64Array(pre.length);
        for (var j = 0; j < pre.length; j++) h[j] = last ? Math.tanh(pre[j]) : this.f(pre[j]);
      }
      hs.push(h);
    }
    return { n: n, hs: hs, pres: pres, out: h };
  };

  /** Backprop of the output gradient gOut (n * out) through a forward cache: adds the
   *  parameter gradient to gParams (if given) and returns the gradient with respect to X. */
  MLP.prototype.backward = function (cache, gOut, gParams) {
    var L = this.layers(), n = cache.n, hb = gOut;
    for (var l = L - 1; l >= 0; l--) {
      var inD = this.sizes[l], outD = this.sizes[l + 1], h = cache.hs[l + 1], pre = cache.pres[l];
      var pb = new Float64Array(n * outD);
      for (var j = 0; j < pb.length; j++) {
        if (l === L - 1) pb[j] = this.output === 'tanh' ? hb[j] * (1 - h[j] * h[j]) : hb[j];
        else pb[j] = hb[j] * this.df(pre[j], h[j]);
      }
      if (gParams) affineBackParams(cache.hs[l], pb, n, gParams, this.offsets[l], inD, outD, true);
      hb = affineBackInput(pb, n, this.params, this.offsets[l], inD, outD);
    }
    return hb;
  };

  /** The outputs of the network on n rows (no cache kept). */
  MLP.prototype.apply = function (X, n) { return this.forward(X, n).out; };

  /** Per-row input gradients d out_i / d x_i of a scalar-output network (n * in). */
  MLP.prototype.inputGradient = function (X, n) {
    return this.backward(this.forward(X, n), new Float64Array(n).fill(1), null);
  };

  /**
   * WGAN-GP's gradient penalty P = mean_i (||grad_x a(x_i)|| - 1)^2 at the rows X (the
   * interpolates), for a scalar-output network with a linear output.
   *
   * With weight lambda it adds lambda * dP/dtheta to gParams (double backprop). The input
   * gradient g = grad_x a is itself a backward pass, a chain that is linear in the deltas:
   *   delta_{L-1} = 1;  u_l = delta_l A_l^T;  delta_{l-1} = s_{l-1} * u_l;  g = delta_0 A_0^T,
   * with s_l = act'(pre_l). Reverse mode through this chain gives the weights' share of dP/dA_l
   * directly, and the s_l path gives adjoints of the pre-activations (act'' * sbar: zero for
   * (Leaky)ReLU, whose slope is piecewise constant, non-zero for tanh) that one more ordinary
   * backward pass through the forward computation turns into gradients of all weights and
   * biases. Returns P.
   */
  MLP.prototype.penalty = function (X, n, lambda, gParams) {
    var L = this.layers(), sizes = this.sizes, p = this.params;
    if (sizes[L] !== 1 || this.output !== 'linear') throw new Error('penalty: scalar linear output');
    var c = this.forward(X, n);
    // 1. the input gradient, keeping every delta_l and u_l
    var deltas = new Array(L), us = new Array(L), ss = new Array(L);
    deltas[L - 1] = new Float64Array(n).fill(1);
    for (var l = L - 1; l >= 1; l--) {
      var u = affineBackInput(deltas[l], n, p, this.offsets[l], sizes[l], sizes[l + 1]);
      var s = new Float64Array(u.length), d = new Float64Array(u.length);
      for (var j = 0; j < u.length; j++) {
        s[j] = this.df(c.pres[l - 1][j], c.hs[l][j]);
        d[j] = s[j] * u[j];
      }
      us[l] = u; ss[l - 1] = s; deltas[l - 1] = d;
    }
    var g = affineBackInput(deltas[0], n, p, this.offsets[0], sizes[0], sizes[1]);
    // 2. P and its gradient with respect to g (PyTorch's norm backward is 0 at a zero norm)
    var dim = sizes[0], P = 0, gb = new Float64Array(g.length);
    for (var i = 0; i < n; i++) {
      var sq = 0;
      for (var k = 0; k < dim; k++) sq += g[i * dim + k] * g[i * dim + k];
      var norm = Math.sqrt(sq);
      P += (norm - 1) * (norm - 1) / n;
      if (norm > 0) {
        var scale = lambda * 2 * (norm - 1) / (n * norm);
        for (k = 0; k < dim; k++) gb[i * dim + k] = scale * g[i * dim + k];
      }
    }
    if (!gParams) return P;
    // 3. reverse mode through the input-gradient chain
    //    g = delta_0 A_0^T: dA_0 += gbar^T delta_0 (as an (in, out) block), deltabar_0 = gbar A_0
    affineBackParams(gb, deltas[0], n, gParams, this.offsets[0], sizes[0], sizes[1], false);
    var db = affine0(gb, n, p, this.offsets[0], sizes[0], sizes[1]);
    var preBar = new Array(L); // adjoints of the pre-activations from the s path
    for (l = 1; l < L; l++) {
      // delta_{l-1} = s_{l-1} * u_l
      var ub = new Float64Array(db.length), sb = new Float64Array(db.length);
      for (j = 0; j < db.length; j++) { ub[j] = ss[l - 1][j] * db[j]; sb[j] = us[l][j] * db[j]; }
      if (this.act === 'tanh') {
        var pbar = new Float64Array(sb.length), hl = c.hs[l];
        for (j = 0; j < sb.length; j++) pbar[j] = sb[j] * (-2 * hl[j] * (1 - hl[j] * hl[j]));
        preBar[l - 1] = pbar;
      }
      // u_l = delta_l A_l^T: dA_l += ubar^T delta_l, deltabar_l = ubar A_l
      affineBackParams(ub, deltas[l], n, gParams, this.offsets[l], sizes[l], sizes[l + 1], false);
      if (l < L - 1) db = affine0(ub, n, p, this.offsets[l], sizes[l], sizes[l + 1]);
    }
    // 4. the pre-activation adjoints, back through the forward pass (tanh only)
    if (this.act === 'tanh') {
      var hb = null;
      for (l = L - 2; l >= 0; l--) {
        var pb = preBar[l];
        if (hb) for (j = 0; j < pb.length; j++) pb[j] += hb[j] * this.df(c.pres[l][j], c.hs[l + 1][j]);
        affineBackParams(c.hs[l], pb, n, gParams, this.offsets[l], sizes[l], sizes[l + 1], true);
        hb = affineBackInput(pb, n, p, this.offsets[l], sizes[l], sizes[l + 1]);
      }
    }
    return P;
  };

  /** X A without the bias (the adjoint steps of the penalty). */
  function affine0(X, n, p, wOff, inD, outD) {
    var Y = new Float64Array(n * outD);
    for (var i = 0; i < n; i++) {
      for (var k = 0; k < inD; k++) {
        var xk = X[i * inD + k], w = wOff + k * outD;
        for (var o = 0; o < outD; o++) Y[i * outD + o] += xk * p[w + o];
      }
    }
    return Y;
  }

  // ------------------------------------------------------------------------------------------
  // The losses of gandemo.losses.LOSSES, in logit space. Each returns the loss and its gradient
  // with respect to every logit (the 1/m of the mean included).
  // ------------------------------------------------------------------------------------------

  /** PyTorch's softplus: log(1 + e^a), and a itself beyond the threshold 20. */
  function softplus(a) { return a > 20 ? a : Math.log1p(Math.exp(a)); }
  /** Its derivative as PyTorch computes it: z / (z + 1) with z = e^a, 1 beyond the threshold. */
  function dsoftplus(a) {
    if (a > 20) return 1;
    var z = Math.exp(a);
    return z / (z + 1);
  }
  function relu(a) { return a > 0 ? a : 0; }

  /** A D loss from per-logit terms on the real and fake logits (each averaged). */
  function dLoss(termR, gradR, termF, gradF) {
    return function (r, f) {
      var m = r.length, mf = f.length, lr = 0, lf = 0;
      var dr = new Float64Array(m), df = new Float64Array(mf);
      for (var i = 0; i < m; i++) { lr += termR(r[i]); dr[i] = gradR(r[i]) / m; }
      for (i = 0; i < mf; i++) { lf += termF(f[i]); df[i] = gradF(f[i]) / mf; }
      return { loss: lr / m + lf / mf, dr: dr, df: df };
    };
  }
  function gLoss(term, grad) {
    return function (f) {
      var m = f.length, l = 0, df = new Float64Array(m);
      for (var i = 0; i < m; i++) { l += term(f[i]); df[i] = grad(f[i]) / m; }
      return { loss: l / m, df: df };
    };
  }

  // minimax D: mean softplus(-a_r) + mean softplus(a_f)
  var minimaxD = dLoss(
    function (a) { return softplus(-a); }, function (a) { return -dsoftplus(-a); },
    softplus, dsoftplus);
  // Each loss: d and g (the two losses of logits), penalty (the gradient-penalty weight) and view,
  // how the page shows D's output a as a heatmap in [0, 1]: sigmoid(a) (a probability), a
  // clipped to [lo, hi] and scaled, or (no lo, hi: an unbounded critic) scaled to its range
  var LOSSES = {
    'saturating': {
      d: minimaxD,
      g: gLoss(function (a) { return -softplus(a); }, function (a) { return -dsoftplus(a); }),
      penalty: 0,
      view: { sigmoid: true, text: 'D(x) = \u03c3(logit)' }
    },
    'non-saturating': {
      d: minimaxD,
      g: gLoss(function (a) { return softplus(-a); }, function (a) { return -dsoftplus(-a); }),
      penalty: 0,
      view: { sigmoid: true, text: 'D(x) = \u03c3(logit)' }
    },
    'least-squares': {
      d: dLoss(function (a) { return 0.5 * (a - 1) * (a - 1); }, function (a) { return a - 1; },
               function (a) { return 0.5 * a * a; }, function (a) { return a; }),
      g: gLoss(function (a) { return 0.5 * (a - 1) * (a - 1); }, function (a) { return a - 1; }),
      penalty: 0,
      view: { lo: 0, hi: 1, text: 'D(x) clipped to [0, 1]' }
    },
    'hinge': {
      // relu's gradient is 0 at 0, as in PyTorch
      d: dLoss(function (a) { return relu(1 - a); }, function (a) { return 1 - a > 0 ? -1 : 0; },
               function (a) { return relu(1 + a); }, function (a) { return 1 + a > 0 ? 1 : 0; }),
      g: gLoss(function (a) { return -a; }, function () { return -1; }),
      penalty: 0,
      view: { lo: -1, hi: 1, text: 'D(x) from \u22121 to 1' }
    },
    'wasserstein-gp': {
      d: dLoss(function (a) { return -a; }, function () { return -1; },
               function (a) { return a; }, function () { return 1; }),
      g: gLoss(function (a) { return -a; }, function () { return -1; }),
      penalty: 10,
      view: { text: 'critic value, scaled to its range in view' } // unbounded: lo, hi from it
    }
  };

  // ------------------------------------------------------------------------------------------
  // Adam, as torch.optim.Adam (no weight decay, no amsgrad)
  // ------------------------------------------------------------------------------------------

  function Adam(n, opts) {
    opts = opts || {};
    this.lr = opts.lr === undefined ? 1e-3 : opts.lr;
    this.betas = opts.betas || [0.9, 0.999];
    this.eps = opts.eps === undefined ? 1e-8 : opts.eps;
    this.t = 0;
    this.m = new Float64Array(n);
    this.v = new Float64Array(n);
  }
  /** One update of params (in place) from grad:
   *  m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2;
   *  p <- p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps). */
  Adam.prototype.step = function (params, grad) {
    var b1 = this.betas[0], b2 = this.betas[1];
    this.t += 1;
    var stepSize = this.lr / (1 - Math.pow(b1, this.t));
    var bc2Sqrt = Math.sqrt(1 - Math.pow(b2, this.t));
    for (var i = 0; i < params.length; i++) {
      var g = grad[i];
      this.m[i] = b1 * this.m[i] + (1 - b1) * g;
      this.v[i] = b2 * this.v[i] + (1 - b2) * g * g;
      params[i] -= stepSize * this.m[i] / (Math.sqrt(this.v[i]) / bc2Sqrt + this.eps);
    }
  };

  // ------------------------------------------------------------------------------------------
  // SGD, as torch.optim.SGD with its defaults (no momentum, dampening or weight decay)
  // ------------------------------------------------------------------------------------------

  function SGD(n, opts) {
    opts = opts || {};
    this.lr = opts.lr === undefined ? 1e-3 : opts.lr;
    this.t = 0;
  }
  /** One update of params (in place) from grad: p <- p - lr * g (no state: the step is
   *  proportional to the gradient, so a vanishing gradient stops the player). */
  SGD.prototype.step = function (params, grad) {
    this.t += 1;
    for (var i = 0; i < params.length; i++) params[i] -= this.lr * grad[i];
  };

  var OPTIMIZERS = { adam: Adam, sgd: SGD };

  /** A fresh optimiser of the kind name ('adam' or 'sgd') for n parameters. */
  function makeOptimizer(name, n, opts) {
    if (!OPTIMIZERS[name]) throw new Error('optimizer must be one of ' + Object.keys(OPTIMIZERS));
    return new OPTIMIZERS[name](n, opts);
  }

  // ------------------------------------------------------------------------------------------
  // Targets and metrics
  // ------------------------------------------------------------------------------------------

  /** An equal-weight mixture of isotropic 2-D Gaussians around centers (K * 2). */
  function Mixture2D(centers, std, name) {
    this.centers = centers;
    this.std = std;
    this.name = name;
    this.numModes = centers.length / 2;
    this.dim = 2;
    this.groups = null; // or {labels, count}: the modes of the metric are groups of centres
  }
  /** n draws (n * 2): a uniform mode, plus std times a standard normal pair. */
  Mixture2D.prototype.sample = function (n, rng) {
    var out = new Float64Array(2 * n);
    for (var i = 0; i < n; i++) {
      var k = Math.floor(rng.uniform() * this.numModes);
      out[2 * i] = this.centers[2 * k] + this.std * rng.normal();
      out[2 * i + 1] = this.centers[2 * k + 1] + this.std * rng.normal();
    }
    return out;
  };

  /** gandemo.data.ring: K modes at angles 2 pi k / K (the package stores the centres in float32,
   *  hence Math.fround: the same centres to the bit). */
  function ring(numModes, radius, std) {
    numModes = numModes === undefined ? 8 : numModes;
    radius = radius === undefined ? 1 : radius;
    std = std === undefined ? 0.01 : std;
    var c = new Float64Array(2 * numModes);
    for (var k = 0; k < numModes; k++) {
      var angle = 2 * Math.PI * k / numModes;
      c[2 * k] = Math.fround(radius * Math.cos(angle));
      c[2 * k + 1] = Math.fround(radius * Math.sin(angle));
    }
    return new Mixture2D(c, std, 'ring');
  }

  /** gandemo.data.grid: side^2 modes at spacing * (i - (side - 1) / 2), ordered as numpy's
   *  meshgrid(indexing='ij').ravel() (first coordinate slowest). */
  function grid(side, spacing, std) {
    side = side === undefined ? 5 : side;
    spacing = spacing === undefined ? 2 : spacing;
    std = std === undefined ? 0.05 : std;
    var c = new Float64Array(2 * side * side);
    for (var i = 0; i < side; i++) {
      for (var j = 0; j < side; j++) {
        c[2 * (i * side + j)] = Math.fround(spacing * (i - (side - 1) / 2));
        c[2 * (i * side + j) + 1] = Math.fround(spacing * (j - (side - 1) / 2));
      }
    }
    return new Mixture2D(c, std, 'grid');
  }

  /**
   * Single-linkage clusters of 2-D points (n * 2): two points closer than radius are in the same
   * cluster, and so, in a chain, are points linked through others. Returns {labels, count}:
   * labels[i] the cluster of point i, numbered 0, 1, ... in the order of their first points.
   */
  function clusters(points, radius) {
    var n = points.length / 2, labels = new Int32Array(n).fill(-1), count = 0, r2 = radius * radius;
    for (var s = 0; s < n; s++) {
      if (labels[s] >= 0) continue;
      labels[s] = count;
      var stack = [s];
      while (stack.length) {
        var i = stack.pop();
        for (var j = 0; j < n; j++) {
          if (labels[j] >= 0) continue;
          var dx = points[2 * i] - points[2 * j], dy = points[2 * i + 1] - points[2 * j + 1];
          if (dx * dx + dy * dy < r2) { labels[j] = count; stack.push(j); }
        }
      }
      count += 1;
    }
    return { labels: labels, count: count };
  }

  /**
   * gandemo.metrics.mode_coverage: a sample is high-quality when it lies within 3 std of its
   * nearest centre; a mode is covered when it is the nearest centre of at least
   * max(1, minShare * n / K) high-quality samples. Returns {modes, numModes, highQuality,
   * reverseKL} (reverseKL = log K - H(h) of the high-quality histogram h, NaN without any).
   *
   * With groups ({labels, count}, as clusters returns; the drawn data), the modes are the
   * groups of centres instead: a high-quality sample counts for the group of its nearest centre,
   * and a group of c of the K centres (an equal-weight mixture) is covered by at least
   * max(1, minShare * n * c / K) of them (its fair share of the samples, times minShare).
   */
  function modeCoverage(samples, centers, std, minShare, groups) {
    minShare = minShare === undefined ? 0.1 : minShare;
    var n = samples.length / 2, nc = centers.length / 2, K = groups ? groups.count : nc;
    var counts = new Float64Array(K), good = 0;
    for (var i = 0; i < n; i++) {
      var best = 0, bestSq = Infinity, x = samples[2 * i], y = samples[2 * i + 1];
      for (var k = 0; k < nc; k++) {
        var dx = x - centers[2 * k], dy = y - centers[2 * k + 1], sq = dx * dx + dy * dy;
        if (sq < bestSq) { bestSq = sq; best = k; } // first centre on ties, as argmin
      }
      if (Math.sqrt(bestSq) / std < 3) { counts[groups ? groups.labels[best] : best] += 1; good += 1; }
    }
    if (good === 0) return { modes: 0, numModes: K, highQuality: 0, reverseKL: NaN, counts: counts };
    var need = Math.max(1, minShare * n / K), modes = 0, entropy = 0, size = null;
    if (groups) {
      size = new Float64Array(K);
      for (k = 0; k < nc; k++) size[groups.labels[k]] += 1;
    }
    for (k = 0; k < K; k++) {
      if (size) need = Math.max(1, minShare * n * size[k] / nc);
      if (counts[k] >= need) modes += 1;
      var h = counts[k] / good;
      if (h > 0) entropy -= h * Math.log(h);
    }
    return {
      modes: modes, numModes: K, highQuality: good / n,
      reverseKL: Math.max(Math.log(K) - entropy, 0), counts: counts
    };
  }

  // ------------------------------------------------------------------------------------------
  // The trainer: gandemo.training.Trainer's alternating step
  // ------------------------------------------------------------------------------------------

  /** A loss name of LOSSES, checked (an Error names the choices otherwise). */
  function checkLoss(name) {
    if (typeof name !== 'string' || !Object.prototype.hasOwnProperty.call(LOSSES, name)) {
      throw new Error('loss must be one of ' + Object.keys(LOSSES).join(', ') + '; got ' +
        JSON.stringify(name));
    }
    return name;
  }

  /** A count of steps (a non-negative integer), checked. */
  function checkCount(value, what) {
    if (typeof value !== 'number' || !(value >= 0) || Math.floor(value) !== value) {
      throw new Error(what + ' must be a non-negative integer; got ' + JSON.stringify(value));
    }
    return value;
  }

  /** A learning-rate schedule [[fromStep, lrG, lrD], ...], checked as gandemo.experiments.Recipe
   *  checks its own: the first entry from step 0, the steps increasing, the rates positive. */
  function checkSchedule(schedule) {
    if (!Array.isArray(schedule) || !schedule.length || !Array.isArray(schedule[0]) ||
        schedule[0][0] !== 0) {
      throw new Error('schedule must start with an entry for step 0');
    }
    schedule.forEach(function (e, i) {
      if (!Array.isArray(e) || e.length !== 3) throw new Error('schedule entries are [fromStep, lrG, lrD]');
      checkCount(e[0], 'a schedule step');
      if (i && !(e[0] > schedule[i - 1][0])) throw new Error('schedule steps must increase');
      if (!(e[1] > 0) || !(e[2] > 0)) throw new Error('schedule rates must be positive');
    });
    return schedule;
  }

  /**
   * gandemo.experiments.Recipe.rates_at: the rates {lrG, lrD} that the schedule gives the update
   * after generator step step, those of the last entry whose fromStep <= step. The one
   * implementation of the rule (Trainer.ratesAt and the trainer's own steps use it).
   */
  function ratesAt(schedule, step) {
    checkCount(step, 'step');
    for (var j = schedule.length - 1; j >= 0; j--) {
      if (step >= schedule[j][0]) return { lrG: schedule[j][1], lrD: schedule[j][2] };
    }
    throw new Error('schedule must start with an entry for step 0');
  }

  function sigmoid(a) { return 1 / (1 + Math.exp(-a)); }

  function allFinite(v) {
    for (var i = 0; i < v.length; i++) if (!isFinite(v[i])) return false;
    return true;
  }

  // The package's Trainer defaults, from gd_settings.js (loaded first in a page; required here
  // under node)
  function packageDefaults() {
    var g = typeof globalThis !== 'undefined' ? globalThis : self;
    if (!(g && g.GdSettings) && typeof require === 'function') require('./gd_settings.js');
    if (!(g && g.GdSettings && g.GdSettings.defaults)) {
      throw new Error('gd_live.js: gd_settings.js (the package\'s Trainer defaults) is not loaded');
    }
    return g.GdSettings.defaults;
  }

  function hidden(width, depth) {
    var out = [];
    for (var i = 0; i < depth; i++) out.push(width);
    return out;
  }

  /**
   * new Trainer(target, opts): opts loss, seed, latentDim, width, depth, batchSize, dSteps, lrG,
   * lrD, betas, slope (0: ReLU), gOptimizer and dOptimizer ('adam' or 'sgd': plain gradient
   * descent; betas are Adam's), gOutput, ema (null, or a decay, e.g. 0.99: samples and metrics
   * then use an exponential moving average of G's weights, updated after every generator
   * update); one left out takes the package's default (gandemo.training.TrainerConfig, written
   * into gd_settings.js by `python -m gandemo page-settings`). Two options are the page's own:
   * act (hidden units, default 'leaky_relu') and schedule null (or
   * [[fromStep, lrG, lrD], ...] as gandemo.experiments.Recipe: see ratesAt; it overrides lrG and
   * lrD). G starts from stream (seed, 0), D from (seed + 1, 0); real batches, latent codes and
   * penalty mixing weights come from streams (seed, 1), (seed, 2), (seed, 3).
   *
   * After every update, this.last holds its statistics: dLoss and dGradNorm (the latest
   * discriminator update), gLoss, gGradNorm and meanDGz (the latest generator update; meanDGz is
   * the mean of sigmoid(D(G(z))) over its batch). this.diverged is null until a loss, a gradient
   * or a weight (the moving average included) is not finite after an update, then {step, what}:
   * the training step it belongs to (1 for the first) and what, e.g. 'discriminator loss' or
   * 'generator weights' (as gandemo's Trainer.diverged; it stays set, and further steps are the
   * caller's choice).
   */
  function Trainer(target, opts) {
    opts = opts || {};
    var D = packageDefaults();
    function pick(key) {
      var v = opts[key] === undefined ? D[key] : opts[key];
      return Array.isArray(v) ? v.slice() : v;
    }
    var o = this.config = {
      loss: pick('loss'), seed: pick('seed'), latentDim: pick('latentDim'), width: pick('width'),
      depth: pick('depth'), batchSize: pick('batchSize'), dSteps: pick('dSteps'),
      lrG: pick('lrG'), lrD: pick('lrD'), betas: pick('betas'), slope: pick('slope'),
      act: opts.act || 'leaky_relu', gOutput: pick('gOutput'), ema: pick('ema'),
      schedule: opts.schedule || null,
      gOptimizer: pick('gOptimizer'), dOptimizer: pick('dOptimizer')
    };
    checkLoss(o.loss);
    checkCount(o.dSteps, 'dSteps');
    if (o.schedule) checkSchedule(o.schedule);
    this.target = target;
    this.spec = LOSSES[o.loss];
    var act = o.act === 'leaky_relu' && o.slope === 0 ? 'relu' : o.act;
    var h = hidden(o.width, o.depth), dim = target.dim;
    this.G = new MLP([o.latentDim].concat(h, [dim]), { act: act, slope: o.slope, output: o.gOutput });
    this.D = new MLP([dim].concat(h, [1]), { act: act, slope: o.slope });
    this.G.init(new Rng(mixSeed(o.seed, 0)));
    this.D.init(new Rng(mixSeed(o.seed + 1, 0)));
    this.dataRng = new Rng(mixSeed(o.seed, 1));
    this.zRng = new Rng(mixSeed(o.seed, 2));
    this.uRng = new Rng(mixSeed(o.seed, 3));
    this.optG = makeOptimizer(o.gOptimizer, this.G.nParams, { lr: o.lrG, betas: o.betas });
    this.optD = makeOptimizer(o.dOptimizer, this.D.nParams, { lr: o.lrD, betas: o.betas });
    // the moving average of G's weights (ema given), used for samples and metrics
    this.emaParams = o.ema === null ? null : Float64Array.from(this.G.params);
    this.step = 0;
    this.last = {}; // the statistics of the latest updates (see above)
    this.diverged = null;
    this.lossChanges = []; // [step, old, new] per setLoss that changed the loss
    this.applySchedule();
  }

  Trainer.prototype.realBatch = function () { return this.target.sample(this.config.batchSize, this.dataRng); };
  Trainer.prototype.zBatch = function () { return this.zRng.normals(this.config.batchSize, this.config.latentDim); };
  Trainer.prototype.uBatch = function () { return this.spec.penalty ? this.uRng.uniforms(this.config.batchSize) : null; };

  /** The generator's examples for the latent codes z (n * latentDim). */
  Trainer.prototype.generate = function (z, n) {
    return this.G.apply(z, n === undefined ? z.length / this.config.latentDim : n);
  };

  /** The same with the sampling weights (the moving average, if any). */
  Trainer.prototype.generateForShow = function (z, n) {
    if (this.emaParams === null) return this.generate(z, n);
    var own = this.G.params;
    this.G.params = this.emaParams;
    try { return this.generate(z, n); } finally { this.G.params = own; }
  };

  /** New learning rates (a schedule), as Trainer.set_learning_rates. */
  Trainer.prototype.setLearningRates = function (lrG, lrD) {
    if (lrG !== undefined && lrG !== null) this.optG.lr = this.config.lrG = lrG;
    if (lrD !== undefined && lrD !== null) this.optD.lr = this.config.lrD = lrD;
  };

  /** The rates {lrG, lrD} of the update after generator step step (default: the steps done):
   *  the schedule's (ratesAt), or without a schedule the trainer's own. */
  Trainer.prototype.ratesAt = function (step) {
    step = step === undefined ? this.step : step;
    if (this.config.schedule) return ratesAt(this.config.schedule, step);
    checkCount(step, 'step');
    return { lrG: this.config.lrG, lrD: this.config.lrD };
  };

  /** Set the schedule's rates for the next update (nothing without a schedule). */
  Trainer.prototype.applySchedule = function () {
    if (!this.config.schedule) return;
    var r = ratesAt(this.config.schedule, this.step);
    this.setLearningRates(r.lrG, r.lrD);
  };

  /** A new schedule (or null: the rates stay as they are until setLearningRates), in place;
   *  its rates apply at once. */
  Trainer.prototype.setSchedule = function (schedule) {
    this.config.schedule = schedule ? checkSchedule(schedule) : null;
    this.applySchedule();
  };

  /** Switch to the objective name (a key of LOSSES) from the next update on, keeping the
   *  weights, the moving average and the optimisers' state, as Trainer.set_loss; a change is
   *  noted in lossChanges as [step, old, new], step the last one trained with the old loss. */
  Trainer.prototype.setLoss = function (name) {
    checkLoss(name);
    if (name !== this.config.loss) this.lossChanges.push([this.step, this.config.loss, name]);
    this.config.loss = name;
    this.spec = LOSSES[name];
  };

  /** k, the discriminator updates per training step, from the next step on (0 freezes D), as
   *  Trainer.set_d_steps. */
  Trainer.prototype.setDSteps = function (k) {
    this.config.dSteps = checkCount(k, 'dSteps');
  };

  /** A new target of the same dimension (e.g. more drawn points), in place: the networks, the
   *  optimisers and the random streams go on. */
  Trainer.prototype.setTarget = function (target) {
    if (!target || target.dim !== this.target.dim || typeof target.sample !== 'function') {
      throw new Error('target must be a ' + this.target.dim + '-D target with sample(n, rng)');
    }
    this.target = target;
  };

  /** A new optimiser for one player ('g' or 'd'), of the kind name ('adam' or 'sgd'), at the
   *  player's current learning rate: the weights are kept, the optimiser's state (Adam's moments
   *  and step count) starts afresh. */
  Trainer.prototype.setOptimizer = function (player, name) {
    var c = this.config;
    if (player === 'g') {
      this.optG = makeOptimizer(name, this.G.nParams, { lr: c.lrG, betas: c.betas });
      c.gOptimizer = name;
    } else if (player === 'd') {
      this.optD = makeOptimizer(name, this.D.nParams, { lr: c.lrD, betas: c.betas });
      c.dOptimizer = name;
    } else throw new Error("player must be 'g' or 'd'");
  };

  /** D's loss (penalty included) and its parameter gradient, on a real batch and latent codes
   *  (the fakes G(z) are inputs, no gradient reaches G), u the penalty's mixing weights. */
  Trainer.prototype.dGradient = function (real, z, u) {
    var m = real.length / this.target.dim, dim = this.target.dim;
    var fake = this.generate(z, m), grad = new Float64Array(this.D.nParams);
    var cr = this.D.forward(real, m), cf = this.D.forward(fake, m);
    var res = this.spec.d(cr.out, cf.out);
    this.D.backward(cr, res.dr, grad);
    this.D.backward(cf, res.df, grad);
    var loss = res.loss, pen = 0;
    if (this.spec.penalty) {
      var xhat = new Float64Array(real.length);
      for (var i = 0; i < m; i++) {
        for (var k = 0; k < dim; k++) {
          var j = i * dim + k;
          xhat[j] = real[j] + u[i] * (fake[j] - real[j]);
        }
      }
      pen = this.D.penalty(xhat, m, this.spec.penalty, grad);
      loss += this.spec.penalty * pen;
    }
    return { loss: loss, penalty: pen, grad: grad, realLogits: cr.out, fakeLogits: cf.out };
  };

  /** G's loss, its parameter gradient (through D, whose weights are not changed) and the
   *  per-sample gradient d loss / d G(z_i) (m * dim: the arrows of the figure). */
  Trainer.prototype.gGradient = function (z) {
    var m = z.length / this.config.latentDim, grad = new Float64Array(this.G.nParams);
    var cg = this.G.forward(z, m), cd = this.D.forward(cg.out, m);
    var res = this.spec.g(cd.out);
    var dx = this.D.backward(cd, res.df, null);
    this.G.backward(cg, dx, grad);
    return { loss: res.loss, grad: grad, fake: cg.out, fakeLogits: cd.out, sampleGrad: dx };
  };

  /** The same with the sampling weights (the moving average, if any): the arrows of a figure
   *  of generateForShow's points. */
  Trainer.prototype.gGradientForShow = function (z) {
    if (this.emaParams === null) return this.gGradient(z);
    var own = this.G.params;
    this.G.params = this.emaParams;
    try { return this.gGradient(z); } finally { this.G.params = own; }
  };

  function norm(v) {
    var s = 0;
    for (var i = 0; i < v.length; i++) s += v[i] * v[i];
    return Math.sqrt(s);
  }

  /** One discriminator update (a step of its optimiser) on the given batches. */
  Trainer.prototype.dUpdate = function (real, z, u) {
    var r = this.dGradient(real, z, u);
    this.optD.step(this.D.params, r.grad);
    this.last.dLoss = r.loss;
    this.last.dGradNorm = norm(r.grad);
    this.checkFinite('discriminator', r.loss, this.last.dGradNorm, this.D.params, null);
    return r;
  };

  /** One generator update (a step of its optimiser) on the given latent codes. */
  Trainer.prototype.gUpdate = function (z) {
    var r = this.gGradient(z);
    this.optG.step(this.G.params, r.grad);
    if (this.emaParams !== null) { // ema <- ema + (1 - decay) (G - ema), torch's lerp_
      var w = 1 - this.config.ema, e = this.emaParams, p = this.G.params;
      for (var i = 0; i < e.length; i++) e[i] += w * (p[i] - e[i]);
    }
    var s = 0, f = r.fakeLogits;
    for (var j = 0; j < f.length; j++) s += sigmoid(f[j]);
    this.last.gLoss = r.loss;
    this.last.gGradNorm = norm(r.grad);
    this.last.meanDGz = s / f.length;
    this.checkFinite('generator', r.loss, this.last.gGradNorm, this.G.params, this.emaParams);
    return r;
  };

  /** After an update of player who: note the first divergence (see the constructor). */
  Trainer.prototype.checkFinite = function (who, loss, gradNorm, params, more) {
    if (this.diverged) return;
    var what = !isFinite(loss) ? 'loss' : !isFinite(gradNorm) ? 'gradient'
      : allFinite(params) && (more === null || allFinite(more)) ? null : 'weights';
    if (what) this.diverged = { step: this.step + 1, what: who + ' ' + what };
  };

  /** One training step: dSteps discriminator updates, each on a fresh real batch and fresh
   *  latent codes, then one generator update on fresh latent codes; returns this.last. */
  Trainer.prototype.trainStep = function () {
    this.applySchedule();
    for (var k = 0; k < this.config.dSteps; k++) this.dUpdate(this.realBatch(), this.zBatch(), this.uBatch());
    this.gUpdate(this.zBatch());
    this.step += 1;
    return this.last;
  };

  /** One discriminator update on fresh batches, at the schedule's rates (a training step
   *  takes dSteps of them); returns this.last. */
  Trainer.prototype.dStep = function () {
    this.applySchedule();
    this.dUpdate(this.realBatch(), this.zBatch(), this.uBatch());
    return this.last;
  };

  /** One generator update on fresh latent codes, at the schedule's rates: it ends a training
   *  step (this.step + 1); returns this.last. */
  Trainer.prototype.gStep = function () {
    this.applySchedule();
    this.gUpdate(this.zBatch());
    this.step += 1;
    return this.last;
  };

  /** n generated examples from latent codes of a separate stream (seed) (for figures and metrics). */
  Trainer.prototype.sample = function (n, seed) {
    var z = new Rng(mixSeed(seed === undefined ? this.config.seed : seed, 4)).normals(n, this.config.latentDim);
    return this.generateForShow(z, n);
  };

  /** mode_coverage of n samples against the trainer's target. */
  Trainer.prototype.coverage = function (n, minShare) {
    var T = this.target;
    return modeCoverage(this.sample(n === undefined ? 2500 : n), T.centers, T.std, minShare, T.groups);
  };

  return {
    version: '0.1.0',
    Rng: Rng,
    mixSeed: mixSeed,
    MLP: MLP,
    softplus: softplus,
    LOSSES: LOSSES,
    Adam: Adam,
    SGD: SGD,
    makeOptimizer: makeOptimizer,
    Mixture2D: Mixture2D,
    ring: ring,
    grid: grid,
    modeCoverage: modeCoverage,
    clusters: clusters,
    ratesAt: ratesAt,
    Trainer: Trainer
  };
});
