/*
 * gd_live_ui.js: the page UI of the book's in-page GAN Lab (issue #15), on top of gd_live.js.
 *
 * The controller: widget construction and events, the model's lifecycle (through the public
 * methods of GdLive.Trainer only), the settings, the training and animation loop, mounting.
 * The drawing (canvas plot, heat scale, charts) is gd_live_draw.js (GdLiveDraw), the style
 * gd_live.css; the maths, schedule and per-update statistics are gd_live.js (GdLive).
 *
 * A classic script, included on every page of the book: it does nothing on a page without a
 * trainer element, and mounts one widget on every element [data-gd-live] (on DOMContentLoaded,
 * or at once if the DOM is ready). Options come from data attributes:
 *
 *   data-gd-target  ring (default) | grid | draw     data-gd-loss   a name of GdLive.LOSSES
 *   data-gd-seed    integer (0)                       data-gd-steps  a step budget (0: none)
 *   data-gd-speed   slow | normal (default) | fast
 *
 * No kernel, no network, no external resource: it draws with <canvas> 2-D, styled by
 * gd_live.css (Jupyter Book links every .css of _static; a page without it gets it from next
 * to this script). The defaults are the live recipe that gd_settings.js carries (generated
 * from gandemo.experiments.LIVE_RECIPE: loss, architecture, learning-rate schedule).
 * gd_live.js, gd_live_draw.js and gd_settings.js may load in any order around this script:
 * it mounts once they are all there (at the latest on the page's load event).
 *
 * Hooks for tests and readers: root.gdLive = {run(n), play(), pause(), reset(), state(),
 * trainer, addPoint(x, y)} (state().diverged: the trainer's divergence, null while none);
 * buttons [data-gd-action=play|pause|step-d|step-g|step|reset|clear];
 * controls [data-gd-control=target|loss|opt-d|lr-d|opt-g|lr-g|k|seed|speed|schedule|arrows]
 * (opt-d, opt-g: adam | sgd, each player's optimiser; arrows: fixed | normalised),
 * [data-gd-action=preset-saturation]; readouts [data-gd-step] (training steps = generator
 * updates), [data-gd-dsteps] (discriminator updates), [data-gd-modes] (covered/K),
 * [data-gd-hq], [data-gd-rate] (steps/s). Drawn data: the modes of the metric are the clusters
 * of the drawn points (points closer than CLUSTER_RADIUS join; single linkage).
 */
(function () {
  'use strict';
  if (typeof window === 'undefined' || typeof document === 'undefined') return;

  // where this script came from: gd_live.css lies next to it
  var SCRIPT_SRC = document.currentScript && document.currentScript.src;
  var D; // GdLiveDraw, read at mount time

  // The live recipe (loss, architecture, schedule) and the role colours come from
  // gd_settings.js, which the package generates (gandemo.page); they are read at mount time.
  var COLORS, LIVE, SCHEDULE;

  function readSettings() {
    var s = window.GdSettings;
    if (!s || !s.live || !s.schedule || !s.colors) return false;
    LIVE = s.live;
    SCHEDULE = s.schedule;
    COLORS = { real: s.colors.real, fake: s.colors.fake, d: s.colors.d, ink: '#222', grey: '#777' };
    return true;
  }

  /** The schedule in words, e.g. "both rates 0.005, dropping to 0.001 at step 800". */
  function scheduleText() {
    var parts = SCHEDULE.map(function (e, i) {
      if (i === 0) return e[1] === e[2] ? 'both rates ' + e[1] : 'G ' + e[1] + ', D ' + e[2];
      var word = e[1] < SCHEDULE[i - 1][1] ? 'dropping to ' : 'changing to ';
      var r = e[1] === e[2] ? word + e[1] : 'then G ' + e[1] + ', D ' + e[2];
      return r + ' at step ' + e[0];
    });
    return parts.join(', ');
  }
  var RATES = ['0.0001', '0.0003', '0.001', '0.002', '0.005', '0.01', '0.02', '0.05', '0.1'];
  var OPTIMIZERS = ['adam', 'sgd'];
  var VIEWS = { ring: 1.6, grid: 5.5, draw: 2 };
  var DRAW_STD = 0.05; // the Gaussian around each drawn point
  // drawn points closer than this (6 std: their 3-std circles touch) are one cluster, one mode
  var CLUSTER_RADIUS = 6 * DRAW_STD;
  var MAX_POINTS = 300;
  var N_SHOW = 256; // generated points shown (fixed latent codes: they move smoothly)
  var N_ARROWS = 64; // of which carry an arrow
  // the saturation preset: saturating loss, D with Adam (lr 0.005, k = 1), G with plain SGD
  // (lr 0.01), shown in slow motion. Measured with node, seeds 0-7: mean D(G(z)) from about 0.5
  // falls below 0.25 at step 15-21 and below 0.05 at step 21-28, and stays below 0.05 to step
  // 1000 (about 3e-6 there); the fixed-scale arrows, under 2 px at the start, grow to a mean of
  // 9-21 px at step 13-23 as D sharpens, then vanish (mean 0.02 px or less by step 1000).
  // Switching the loss to non-saturating, or G to Adam (at the preset's 0.01, or 0.001), at
  // step 100 brings mean D(G(z)) back to 0.16-0.61 by step 150 (seeds 0-3; Adam's step does
  // not shrink with the gradient).
  var SATURATION = { loss: 'saturating', optD: 'adam', lrD: '0.005', k: '1', optG: 'sgd',
    lrG: '0.01', speed: 'slow' };
  var N_METRIC = 2500; // samples of the mode metric (Trainer.coverage's default)
  var HISTORY = 3000; // chart points kept (decimated beyond)

  /** gd_live.css, from next to this script, unless the page links it (as the book does). */
  function ensureStyle() {
    if (document.getElementById('gd-live-ui-style')) return;
    var links = document.querySelectorAll('link[rel~="stylesheet"]');
    for (var i = 0; i < links.length; i++) {
      if (/(^|\/)gd_live\.css([?#]|$)/.test(links[i].getAttribute('href') || '')) return;
    }
    var link = document.createElement('link');
    link.id = 'gd-live-ui-style';
    link.rel = 'stylesheet';
    link.href = SCRIPT_SRC ? new URL('gd_live.css', SCRIPT_SRC).href : 'gd_live.css';
    (document.head || document.documentElement).appendChild(link);
  }

  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) {
      if (k === 'text') e.textContent = attrs[k];
      else if (k === 'className') e.className = attrs[k];
      else e.setAttribute(k, attrs[k]);
    }
    (children || []).forEach(function (c) {
      e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    });
    return e;
  }

  function select(control, values, labels, value) {
    var s = el('select', { 'data-gd-control': control });
    values.forEach(function (v, i) {
      var o = el('option', { value: v, text: labels ? labels[i] : v });
      s.appendChild(o);
    });
    s.value = value;
    return s;
  }

  // ------------------------------------------------------------------------------------------
  // One widget
  // ------------------------------------------------------------------------------------------

  function Widget(root, L) {
    this.root = root;
    this.L = L;
    var ds = root.dataset;
    var names = Object.keys(L.LOSSES);
    this.targetName = ['ring', 'grid', 'draw'].indexOf(ds.gdTarget) >= 0 ? ds.gdTarget : 'ring';
    this.lossName = names.indexOf(ds.gdLoss) >= 0 ? ds.gdLoss : LIVE.loss;
    this.seed = parseInt(ds.gdSeed, 10) || 0;
    this.budget = Math.max(0, parseInt(ds.gdSteps, 10) || 0);
    this.speed = ['slow', 'normal', 'fast'].indexOf(ds.gdSpeed) >= 0 ? ds.gdSpeed : 'normal';
    this.points = []; // drawn points, flat x, y
    this.playing = false;
    this.raf = null;
    this.frameNo = 0;
    this.layers = { heatmap: true, manifold: true, real: true, fake: true, arrows: true };
    this.build(names);
    this.reset();
  }

  Widget.prototype.build = function (names) {
    var self = this, root = this.root;
    root.classList.add('gd-live');
    root.innerHTML = '';
    var b = function (action, label, title, cls) {
      var e = el('button', { type: 'button', 'data-gd-action': action, title: title, text: label });
      if (cls) e.className = cls;
      e.addEventListener('click', function () { self.onAction(action); });
      return e;
    };
    this.btn = {
      play: b('play', 'Play', 'Train continuously', 'gd-primary'),
      pause: b('pause', 'Pause', 'Stop training'),
      'step-d': b('step-d', 'Step D', 'One discriminator update (fresh real and fake batches)'),
      'step-g': b('step-g', 'Step G', 'One generator update (counts as a training step)'),
      step: b('step', 'Step', 'One training step: k discriminator updates, then one generator update'),
      'preset-saturation': b('preset-saturation', 'Saturation preset',
        'New networks: saturating loss, D with Adam (lr 0.005, k = 1), G with plain SGD ' +
        '(lr 0.01), fixed-scale arrows, slow motion. Mean D(G(z)) falls to about 0 over some ' +
        '25 steps, then the arrows vanish'),
      reset: b('reset', 'Reset', 'New networks from the seed (keeps the settings)'),
      clear: b('clear', 'Clear points', 'Remove the drawn points')
    };
    this.ctl = {
      speed: select('speed', ['slow', 'normal', 'fast'], ['slow motion', 'normal', 'fast'], this.speed),
      target: select('target', ['ring', 'grid', 'draw'], ['ring (8)', 'grid (25)', 'draw your own'],
        this.targetName),
      loss: select('loss', names, null, this.lossName),
      'opt-d': select('opt-d', OPTIMIZERS, ['Adam', 'SGD'], 'adam'),
      'lr-d': select('lr-d', RATES, null, String(SCHEDULE[0][2])),
      'opt-g': select('opt-g', OPTIMIZERS, ['Adam', 'SGD'], 'adam'),
      'lr-g': select('lr-g', RATES, null, String(SCHEDULE[0][1])),
      k: select('k', ['1', '2', '3', '5'], null, '1'),
      seed: el('input', { type: 'number', 'data-gd-control': 'seed', value: String(this.seed),
        min: '0', step: '1' }),
      schedule: el('input', { type: 'checkbox', 'data-gd-control': 'schedule' }),
      arrows: select('arrows', ['fixed', 'normalised'], ['fixed scale', 'normalised'], 'fixed')
    };
    this.ctl.schedule.checked = true;
    this.out = {
      step: el('b', { 'data-gd-step': '', text: '0' }),
      dsteps: el('span', { 'data-gd-dsteps': '', text: '0' }),
      rate: el('span', { 'data-gd-rate': '', text: '0' }),
      modes: el('b', { 'data-gd-modes': '', text: '0/8' }),
      hq: el('span', { 'data-gd-hq': '', text: '0.00' }),
      msg: el('div', { className: 'gd-note gd-msg', 'data-gd-message': '' })
    };
    var lab = function (text, control, title) {
      var l = el('label', { title: title || '' }, [text + ' ', control]);
      return l;
    };
    var OPT_TITLE = ' optimiser: Adam, or SGD (plain gradient descent: the step is the rate ' +
      'times the gradient). A switch keeps the weights and restarts the optimiser.';
    var row1 = el('div', { className: 'gd-row' }, [
      this.btn.play, this.btn.pause, this.btn['step-d'], this.btn['step-g'], this.btn.step,
      this.btn.reset, lab('seed', this.ctl.seed, 'Seed of the next Reset'),
      lab('speed', this.ctl.speed, 'slow motion: one training step every 12 frames (about 5 a ' +
        'second), each one drawn')
    ]);
    var row2 = el('div', { className: 'gd-row' }, [
      lab('data', this.ctl.target), lab('loss', this.ctl.loss),
      lab('k', this.ctl.k, 'k: discriminator updates per generator update'),
      el('label', { title: 'schedule: ' + scheduleText() + ' (the live recipe). Choosing a rate ' +
        'by hand turns it off.' }, [this.ctl.schedule, ' schedule']),
      this.btn.clear, this.btn['preset-saturation']
    ]);
    var row3 = el('div', { className: 'gd-row' }, [ // each player's pair wraps as one
      el('span', { className: 'gd-pair' }, [
        lab('G', this.ctl['opt-g'], 'The generator\'s' + OPT_TITLE),
        lab('lr G', this.ctl['lr-g'], 'Learning rate of the generator')]),
      el('span', { className: 'gd-pair' }, [
        lab('D', this.ctl['opt-d'], 'The discriminator\'s' + OPT_TITLE),
        lab('lr D', this.ctl['lr-d'], 'Learning rate of the discriminator')])
    ]);
    var hint = el('div', { className: 'gd-note gd-hint', 'data-gd-hint': 'controls' }, [
      'k: discriminator updates per generator update. lr: learning rate; schedule: ' +
      scheduleText() + ' (choosing a rate turns it off). Adam or SGD per ' +
      'player: a switch keeps the weights and restarts that player\'s optimiser.']);
    this.plot = D.hiDpiCanvas(380, 380, { 'data-gd-canvas': 'samples',
      'aria-label': 'real and generated samples' });
    this.heat = document.createElement('canvas');
    this.heat.width = this.heat.height = D.HEAT;
    var layerBoxes = el('div', { className: 'gd-layers' }, ['show:']);
    ['heatmap', 'manifold', 'real', 'fake', 'arrows'].forEach(function (name) {
      var cb = el('input', { type: 'checkbox', 'data-gd-layer': name });
      cb.checked = true;
      cb.addEventListener('change', function () { self.layers[name] = cb.checked; self.draw(); });
      layerBoxes.appendChild(el('label', {}, [' ', cb, ' ' + name]));
    });
    layerBoxes.appendChild(document.createTextNode(' ')); // a break opportunity
    layerBoxes.appendChild(el('label', { title: 'fixed scale: length proportional to the ' +
      'gradient (one scale for every frame); normalised: rescaled each frame so they never vanish' },
      [' arrows ', this.ctl.arrows]));
    this.legend = el('div', { className: 'gd-note' });
    var plotBox = el('div', { className: 'gd-plot' }, [this.plot, layerBoxes, this.legend]);
    this.charts = {
      loss: D.hiDpiCanvas(200, 110, { 'data-gd-chart': 'loss',
        title: 'The losses of D and of G at each training step' }),
      dgz: D.hiDpiCanvas(200, 110, { 'data-gd-chart': 'dgz',
        title: 'mean D(G(z)): D\'s mean probability that the generator\'s batch is real, at ' +
          'each generator update' }),
      gnorm: D.hiDpiCanvas(200, 110, { 'data-gd-chart': 'gnorm',
        title: '\u2016\u2207G\u2016: the norm of the gradient of G\'s loss with respect to ' +
          'G\'s weights, at each generator update (log scale)' }),
      modes: D.hiDpiCanvas(200, 110, { 'data-gd-chart': 'modes',
        title: 'modes covered (as a share of all modes) and HQ, the share of samples within 3 ' +
          'standard deviations of a mode' })
    };
    var chartBox = el('div', { className: 'gd-charts' }, [
      this.charts.loss, this.charts.dgz, this.charts.gnorm, this.charts.modes]);
    var tip = function (title, children) { return el('span', { title: title }, children); };
    var readout = el('div', { className: 'gd-note gd-readout' }, [
      tip('training steps: generator updates', ['step ', this.out.step]), ' \u00b7 ',
      tip('discriminator updates: k per step, plus Step D', ['D updates ', this.out.dsteps]),
      ' \u00b7 ', tip('training steps per second while playing', [this.out.rate, ' steps/s']),
      el('br'),
      tip('modes with at least 10% of their fair share of the high-quality samples',
        ['modes covered ', this.out.modes]), ' \u00b7 ',
      tip('HQ: share of samples within 3 standard deviations of a mode', ['HQ ', this.out.hq])]);
    this.out.metricHint = el('div', { className: 'gd-note gd-hint', 'data-gd-hint': 'metric' }, [
      'HQ: share of 2500 generated samples within 3 standard deviations of a mode. A mode is ' +
      'covered when at least 10% of its fair share of them land on it.']);
    var side = el('div', { style: 'flex:1 1 300px;min-width:240px' },
      [chartBox, readout, this.out.metricHint]);
    chartBox.style.minWidth = '0';
    root.appendChild(row1);
    root.appendChild(row2);
    root.appendChild(row3);
    root.appendChild(hint);
    root.appendChild(el('div', { className: 'gd-main' }, [plotBox, side]));
    root.appendChild(this.out.msg);

    this.ctl.target.addEventListener('change', function () {
      self.targetName = self.ctl.target.value;
      self.reset();
    });
    this.ctl.loss.addEventListener('change', function () { self.setLoss(self.ctl.loss.value); });
    ['lr-d', 'lr-g'].forEach(function (name) {
      self.ctl[name].addEventListener('change', function () {
        self.ctl.schedule.checked = false;
        self.applyRates();
      });
    });
    this.ctl.schedule.addEventListener('change', function () { self.applyRates(); });
    ['g', 'd'].forEach(function (player) {
      self.ctl['opt-' + player].addEventListener('change', function () {
        // in place: the weights are kept, this player's optimiser starts afresh
        self.trainer.setOptimizer(player, self.ctl['opt-' + player].value);
      });
    });
    this.ctl.k.addEventListener('change', function () {
      self.trainer.setDSteps(parseInt(self.ctl.k.value, 10));
    });
    this.ctl.speed.addEventListener('change', function () { self.speed = self.ctl.speed.value; });
    this.ctl.arrows.addEventListener('change', function () { self.draw(); });
    this.ctl.seed.addEventListener('change', function () {
      self.seed = Math.max(0, parseInt(self.ctl.seed.value, 10) || 0);
    });

    // drawing your own data: mouse (real or synthetic events) and touch
    var drawing = false, last = null;
    var at = function (clientX, clientY) {
      var r = self.plot.getBoundingClientRect(), v = self.view();
      var u = (clientX - r.left) / r.width, w = (clientY - r.top) / r.height;
      return [-v + 2 * v * u, v - 2 * v * w];
    };
    var add = function (clientX, clientY, force) {
      var p = at(clientX, clientY), v = self.view();
      if (!force && last && Math.hypot(p[0] - last[0], p[1] - last[1]) < 0.04 * v) return;
      last = p;
      self.addPoint(p[0], p[1]);
    };
    this.plot.addEventListener('mousedown', function (e) {
      if (self.targetName !== 'draw') return;
      drawing = true; last = null;
      add(e.clientX, e.clientY, true);
      e.preventDefault();
    });
    this.plot.addEventListener('mousemove', function (e) {
      if (drawing && self.targetName === 'draw') add(e.clientX, e.clientY, false);
    });
    window.addEventListener('mouseup', function () { drawing = false; });
    this.plot.addEventListener('mouseleave', function () { drawing = false; });
    this.plot.addEventListener('touchstart', function (e) {
      if (self.targetName !== 'draw' || !e.touches.length) return;
      drawing = true; last = null;
      add(e.touches[0].clientX, e.touches[0].clientY, true);
      e.preventDefault();
    }, { passive: false });
    this.plot.addEventListener('touchmove', function (e) {
      if (!drawing || !e.touches.length) return;
      add(e.touches[0].clientX, e.touches[0].clientY, false);
      e.preventDefault();
    }, { passive: false });
    this.plot.addEventListener('touchend', function () { drawing = false; });
  };

  Widget.prototype.view = function () { return VIEWS[this.targetName]; };

  /** The target of the current choice (a mixture around the drawn points for 'draw'). */
  Widget.prototype.makeTarget = function () {
    var L = this.L;
    if (this.targetName === 'grid') return L.grid();
    if (this.targetName === 'draw') {
      var c = this.points.length ? Float64Array.from(this.points) : new Float64Array([0, 0]);
      var T = new L.Mixture2D(c, DRAW_STD, 'drawn');
      if (this.points.length) T.groups = L.clusters(c, CLUSTER_RADIUS); // modes: the clusters
      return T;
    }
    return L.ring();
  };

  Widget.prototype.hasData = function () {
    return this.targetName !== 'draw' || this.points.length > 0;
  };

  /** The number of modes of the metric: the target's, or the clusters of the drawn points. */
  Widget.prototype.numModes = function () {
    if (!this.hasData()) return 0;
    var T = this.trainer.target;
    return T.groups ? T.groups.count : T.numModes;
  };

  /** New networks from the seed, with the current settings (the drawn points are kept). */
  Widget.prototype.reset = function () {
    var L = this.L;
    this.seed = Math.max(0, parseInt(this.ctl.seed.value, 10) || 0);
    var opts = {};
    for (var key in LIVE) opts[key] = LIVE[key];
    opts.loss = this.ctl.loss.value;
    opts.seed = this.seed;
    opts.dSteps = parseInt(this.ctl.k.value, 10);
    opts.lrD = parseFloat(this.ctl['lr-d'].value);
    opts.lrG = parseFloat(this.ctl['lr-g'].value);
    opts.gOptimizer = this.ctl['opt-g'].value;
    opts.dOptimizer = this.ctl['opt-d'].value;
    if (this.ctl.schedule.checked) opts.schedule = SCHEDULE; // its rates override lrG, lrD
    this.trainer = new L.Trainer(this.makeTarget(), opts);
    this.dUpdates = 0;
    this.hist = { step: [], dLoss: [], gLoss: [], dgz: [], gnorm: [] };
    this.metricHist = { step: [], modes: [], hq: [] };
    this.metric = null;
    this.rate = 0;
    this.rateMark = null;
    var zr = new L.Rng(L.mixSeed(this.seed, 5));
    this.zShow = zr.normals(N_SHOW, LIVE.latentDim);
    this.resampleReal();
    // the latent grid: lines of constant z1 and of constant z2 over [-2.5, 2.5]
    var lines = 9, pts = 25, zl = new Float64Array(2 * 2 * lines * pts), j = 0;
    for (var dir = 0; dir < 2; dir++) {
      for (var a = 0; a < lines; a++) {
        for (var q = 0; q < pts; q++) {
          var u = -2.5 + 5 * a / (lines - 1), w = -2.5 + 5 * q / (pts - 1);
          zl[j++] = dir ? w : u;
          zl[j++] = dir ? u : w;
        }
      }
    }
    this.zLines = zl;
    this.lineShape = [2 * lines, pts];
    this.root.classList.toggle('gd-drawing', this.targetName === 'draw');
    this.btn.clear.style.display = this.targetName === 'draw' ? '' : 'none';
    this.syncRates();
    this.updateMetric(true);
    this.updateButtons();
    this.draw();
    if (!this.hasData()) this.say('Click or drag on the plot to draw your own data, then Play.');
    else this.say('');
  };

  Widget.prototype.resampleReal = function () {
    var rng = new this.L.Rng(this.L.mixSeed(this.seed, 6));
    this.realShow = this.hasData() ? this.trainer.target.sample(N_SHOW, rng) : new Float64Array(0);
  };

  /** Add one drawn point (data coordinates): the target changes in place, training goes on. */
  Widget.prototype.addPoint = function (x, y) {
    if (this.targetName !== 'draw') return;
    if (this.points.length / 2 >= MAX_POINTS) { this.say('At most ' + MAX_POINTS + ' points.'); return; }
    this.points.push(x, y);
    this.trainer.setTarget(this.makeTarget());
    this.resampleReal();
    this.updateMetric(true);
    this.updateButtons();
    this.say('');
    if (!this.playing) this.draw();
  };

  Widget.prototype.setLoss = function (name) {
    // in place: same weights and optimiser states, new objective
    this.trainer.setLoss(name);
    this.updateMetric(true);
    if (!this.playing) this.draw();
  };

  /** The schedule (its rates from the step reached), or the rates chosen by hand. */
  Widget.prototype.applyRates = function () {
    var t = this.trainer;
    if (this.ctl.schedule.checked) t.setSchedule(SCHEDULE);
    else {
      t.setSchedule(null);
      t.setLearningRates(parseFloat(this.ctl['lr-g'].value), parseFloat(this.ctl['lr-d'].value));
    }
    this.syncRates();
  };

  /** Show the rates in use (the schedule changes them as the run goes on). */
  Widget.prototype.syncRates = function () {
    var t = this.trainer, pick = function (s, v) {
      var best = RATES[0];
      RATES.forEach(function (r) { if (Math.abs(Math.log(r / v)) < Math.abs(Math.log(best / v))) best = r; });
      if (s.value !== best && document.activeElement !== s) s.value = best;
    };
    pick(this.ctl['lr-d'], t.optD.lr);
    pick(this.ctl['lr-g'], t.optG.lr);
  };

  Widget.prototype.say = function (text, warn) {
    this.out.msg.textContent = text;
    this.out.msg.classList.toggle('gd-warn', !!warn);
  };

  /** Whether the run diverged (a loss, gradient or weight not finite: GdLive's check). */
  Widget.prototype.diverged = function () { return this.trainer.diverged !== null; };

  Widget.prototype.updateButtons = function () {
    var ok = this.hasData() && !this.diverged();
    this.btn.play.disabled = this.playing || !ok;
    this.btn.pause.disabled = !this.playing;
    this.btn['step-d'].disabled = this.btn['step-g'].disabled = this.btn.step.disabled = !ok;
  };

  // ------------------------------------------------------------------------------------------
  // Training
  // ------------------------------------------------------------------------------------------

  Widget.prototype.record = function () {
    var t = this.trainer, h = this.hist, last = t.last;
    h.step.push(t.step);
    h.dLoss.push(last.dLoss === undefined ? NaN : last.dLoss);
    h.gLoss.push(last.gLoss === undefined ? NaN : last.gLoss);
    h.dgz.push(last.meanDGz === undefined ? NaN : last.meanDGz);
    h.gnorm.push(last.gGradNorm === undefined ? NaN : last.gGradNorm);
    if (h.step.length > HISTORY) {
      for (var k in h) h[k] = h[k].filter(function (_, i) { return i % 2 === 0; });
    }
    this.checkDiverged();
  };

  /** After updates: once the trainer has diverged, stop and say so (updates are refused from
   *  then on, so this happens once a run). */
  Widget.prototype.checkDiverged = function () {
    var d = this.trainer.diverged;
    if (!d) return;
    this.pause();
    this.say('Training diverged (' + d.what + ' not finite at step ' + d.step + '): lower the ' +
      'rates and Reset.', true);
  };

  /** One training step: k discriminator updates, then one generator update. */
  Widget.prototype.fullStep = function () {
    if (!this.hasData() || this.diverged()) return false;
    this.trainer.trainStep();
    this.dUpdates += this.trainer.config.dSteps;
    this.record();
    return true;
  };

  Widget.prototype.stepD = function () {
    if (!this.hasData() || this.diverged()) return;
    this.trainer.dStep();
    this.dUpdates += 1;
    this.checkDiverged();
  };

  Widget.prototype.stepG = function () {
    if (!this.hasData() || this.diverged()) return;
    this.trainer.gStep(); // a training step ends with its generator update
    this.record();
  };

  /** n training steps now (synchronously), then metrics and a redraw; returns the state. */
  Widget.prototype.run = function (n) {
    var t0 = performance.now(), done = 0;
    if (!this.diverged() && this.hasData()) this.say('');
    for (var i = 0; i < n; i++) {
      if (!this.fullStep()) break;
      done += 1;
      if (this.trainer.step % 100 === 0 && i + 1 < n) this.updateMetric(true);
    }
    var seconds = (performance.now() - t0) / 1000;
    this.updateMetric(true);
    this.draw();
    var s = this.state();
    s.ran = done;
    s.seconds = seconds;
    return s;
  };

  /** The saturation preset: its settings, then new networks (on the ring unless drawing). */
  Widget.prototype.presetSaturation = function () {
    var c = this.ctl;
    c.loss.value = SATURATION.loss;
    c['opt-d'].value = SATURATION.optD;
    c['lr-d'].value = SATURATION.lrD;
    c['opt-g'].value = SATURATION.optG;
    c['lr-g'].value = SATURATION.lrG;
    c.k.value = SATURATION.k;
    c.schedule.checked = false;
    c.arrows.value = 'fixed';
    c.speed.value = this.speed = SATURATION.speed;
    if (this.targetName === 'draw' && !this.hasData()) { this.targetName = c.target.value = 'ring'; }
    this.reset();
    this.say('Saturation preset: saturating loss; D: Adam, lr 0.005, k = 1; G: plain SGD, ' +
      'lr 0.01; slow motion. Press Play: as D learns, the arrows grow, then mean D(G(z)) falls ' +
      'below 0.05 within about 25 steps and they vanish; G stops. Then switch the loss to ' +
      'non-saturating, or G to Adam, and watch it move again.');
  };

  Widget.prototype.state = function () {
    var t = this.trainer, m = this.metric;
    return {
      step: t.step, dUpdates: this.dUpdates, playing: this.playing, loss: t.config.loss,
      lrD: t.optD.lr, lrG: t.optG.lr, k: t.config.dSteps, target: t.target.name,
      numModes: this.numModes(), points: this.points.length / 2,
      optD: t.config.dOptimizer, optG: t.config.gOptimizer,
      modes: m ? m.modes : null, highQuality: m ? m.highQuality : null, rate: this.rate,
      dLoss: t.last.dLoss, gLoss: t.last.gLoss, meanDGz: t.last.meanDGz, diverged: t.diverged,
      arrows: this.ctl.arrows.value, arrowLengths: this.arrowLengths ? Array.from(this.arrowLengths) : []
    };
  };

  Widget.prototype.onAction = function (action) {
    if (action === 'play') this.play();
    else if (action === 'pause') this.pause();
    else if (action === 'reset') { this.pause(); this.reset(); }
    else if (action === 'preset-saturation') { this.pause(); this.presetSaturation(); }
    else if (action === 'clear') { this.pause(); this.points = []; this.reset(); }
    else {
      if (action === 'step-d') this.stepD();
      else if (action === 'step-g') this.stepG();
      else if (action === 'step') this.fullStep();
      this.updateMetric(true);
      this.draw();
    }
  };

  Widget.prototype.play = function () {
    if (this.playing || !this.hasData() || this.diverged()) return;
    this.playing = true;
    this.rateMark = null;
    this.updateButtons();
    var self = this;
    this.raf = window.requestAnimationFrame(function (ts) { self.frame(ts); });
  };

  Widget.prototype.pause = function () {
    this.playing = false;
    if (this.raf !== null) window.cancelAnimationFrame(this.raf);
    this.raf = null;
    this.rate = 0;
    this.updateButtons();
    this.updateMetric(true);
    this.draw();
  };

  Widget.prototype.frame = function () {
    if (!this.playing) return;
    var self = this;
    this.frameNo += 1;
    var now = performance.now();
    if (this.speed === 'slow') {
      if (this.frameNo % 12 === 0) this.fullStep();
    } else {
      var budget = this.speed === 'fast' ? 60 : 20, t0 = now, dt = 0;
      do {
        if (this.budget && this.trainer.step >= this.budget) break;
        if (!this.fullStep()) break;
        dt = performance.now() - t0;
      } while (this.playing && dt < budget * 0.8);
    }
    if (this.budget && this.trainer.step >= this.budget) {
      this.pause();
      this.say('Reached the step budget (' + this.budget + '). Reset to train again.');
      return;
    }
    if (!this.playing) return;
    // steps per second over the last second or so
    now = performance.now();
    if (!this.rateMark) this.rateMark = { t: now, step: this.trainer.step };
    else if (now - this.rateMark.t > 1000) {
      this.rate = (this.trainer.step - this.rateMark.step) * 1000 / (now - this.rateMark.t);
      this.rateMark = { t: now, step: this.trainer.step };
    }
    this.updateMetric(false);
    this.draw(this.speed === 'slow');
    this.raf = window.requestAnimationFrame(function (ts) { self.frame(ts); });
  };

  /** The mode metric (GdLive.modeCoverage on 2500 samples), at most once a second unless forced. */
  Widget.prototype.updateMetric = function (force) {
    var now = performance.now();
    if (!force && this.metricAt && now - this.metricAt < 1000) return;
    this.metricAt = now;
    var t = this.trainer;
    if (!this.hasData()) {
      this.metric = null;
      this.out.modes.textContent = 'n/a';
      this.out.hq.textContent = 'n/a';
      return;
    }
    var m = this.metric = t.coverage(N_METRIC);
    var mh = this.metricHist;
    if (mh.step.length && mh.step[mh.step.length - 1] === t.step) {
      mh.modes[mh.modes.length - 1] = m.modes;
      mh.hq[mh.hq.length - 1] = m.highQuality;
    } else {
      mh.step.push(t.step); mh.modes.push(m.modes); mh.hq.push(m.highQuality);
      if (mh.step.length > HISTORY) {
        for (var k in mh) mh[k] = mh[k].filter(function (_, i) { return i % 2 === 0; });
      }
    }
  };

  // ------------------------------------------------------------------------------------------
  // Drawing
  // ------------------------------------------------------------------------------------------

  Widget.prototype.draw = function (full) {
    var t = this.trainer;
    full = full !== false;
    var o = this.out;
    o.step.textContent = String(t.step);
    o.dsteps.textContent = String(this.dUpdates);
    o.rate.textContent = this.playing ? this.rate.toFixed(0) : '0';
    if (this.metric) {
      o.modes.textContent = this.metric.modes + '/' + this.metric.numModes;
      o.hq.textContent = this.metric.highQuality.toFixed(2);
    }
    this.syncRates();
    this.drawPlot(full);
    this.drawCharts();
  };

  /** Recompute the expensive layers (networks on many points): all of them when full, else one
   *  per frame in turn (while playing), so that drawing stays a small part of each frame. */
  Widget.prototype.compute = function (full) {
    var t = this.trainer, v = this.view(), c = this.cache || (this.cache = {});
    var part = full ? -1 : this.frameNo % 3;
    if (full || part === 0 || !c.heatText) {
      var n = D.HEAT, out = t.D.apply(D.heatGrid(v, n), n * n);
      c.heatText = D.paintHeat(this.heat, out, t.config.loss);
    }
    if (full || part === 1 || !c.lines) c.lines = t.generateForShow(this.zLines, this.zLines.length / 2);
    if (full || part === 2 || !c.fake) {
      c.fake = t.generateForShow(this.zShow, N_SHOW);
      // the arrows: the per-sample gradient at the shown points (moving-average weights)
      c.grad = t.gGradientForShow(this.zShow.subarray(0, 2 * N_ARROWS)).sampleGrad;
    }
  };

  /** The samples plot (GdLiveDraw.plot) of the current state, and its legend. */
  Widget.prototype.drawPlot = function (full) {
    var data = this.hasData(), drawn = this.targetName === 'draw', T = this.trainer.target;
    if (data) this.compute(full);
    var cache = this.cache || {};
    var r = D.plot(this.plot, {
      view: this.view(), hasData: data, layers: this.layers, colors: COLORS,
      heat: this.heat, heatText: cache.heatText, lines: cache.lines, lineShape: this.lineShape,
      real: this.realShow, fake: cache.fake, grad: cache.grad,
      arrowsFixed: this.ctl.arrows.value === 'fixed',
      modes: drawn ? null : { centers: T.centers, numModes: T.numModes, std: T.std },
      drawn: drawn ? { points: this.points, std: DRAW_STD, clusterRadius: CLUSTER_RADIUS,
        numModes: this.numModes() } : null
    });
    if (r.arrowLengths) this.arrowLengths = r.arrowLengths;
    this.legend.textContent = r.legend;
  };

  Widget.prototype.drawCharts = function () {
    D.charts(this.charts, this.hist, this.metricHist, this.numModes() || 1, COLORS);
  };

  // ------------------------------------------------------------------------------------------
  // Mounting
  // ------------------------------------------------------------------------------------------

  /** The scripts the widget needs that are not there yet. */
  function missingScripts() {
    var missing = [];
    if (!(window.GdLive && window.GdLive.Trainer && window.GdLive.Trainer.prototype.setLoss)) {
      missing.push('gd_live.js');
    }
    if (!(window.GdLiveDraw && window.GdLiveDraw.plot)) missing.push('gd_live_draw.js');
    if (!readSettings()) missing.push('gd_settings.js');
    return missing;
  }

  function mountAll(retry) {
    var roots = document.querySelectorAll('[data-gd-live]');
    if (!roots.length) return;
    var missing = missingScripts();
    if (missing.length && retry !== false && document.readyState !== 'complete') {
      // the others may come later (async, deferred or after this one): try once more when the
      // page has loaded
      window.addEventListener('load', function () { mountAll(false); });
      return;
    }
    if (missing.length) {
      Array.prototype.forEach.call(roots, function (r) {
        r.textContent = 'The live GAN needs ' + missing.join(' and ') + ', which did not load.';
      });
      return;
    }
    readSettings();
    D = window.GdLiveDraw;
    ensureStyle();
    Array.prototype.forEach.call(roots, function (root) {
      if (root.gdLive) return;
      var w = new Widget(root, window.GdLive);
      root.gdLive = {
        run: function (n) { return w.run(n); },
        play: function () { w.play(); },
        pause: function () { w.pause(); },
        reset: function () { w.reset(); },
        state: function () { return w.state(); },
        addPoint: function (x, y) { w.addPoint(x, y); },
        get trainer() { return w.trainer; },
        widget: w
      };
    });
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', function () { mountAll(); });
  } else mountAll();
})();
