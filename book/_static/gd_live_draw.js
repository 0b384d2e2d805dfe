/*
 * gd_live_draw.js: the drawing of the book's in-page GAN Lab (issue #15), for gd_live_ui.js.
 *
 * Canvas 2-D only: the samples plot (the discriminator's heatmap, the generator manifold, real
 * and generated points, the modes, the gradient arrows, the key), the heat scale of each loss,
 * and the small line charts. It keeps no state and knows nothing of the trainer or the widget:
 * each function draws what it is given, and the controller (gd_live_ui.js) decides what and
 * when. The style of the widget's HTML is gd_live.css.
 *
 * A classic script: it defines window.GdLiveDraw (plot, paintHeat, heatGrid, heatScale, chart,
 * charts, hiDpiCanvas, ctx2d, and the helpers sigmoid, fmt, quantile).
 */
(function (root) {
  'use strict';
  if (!root || typeof document === 'undefined') return;

  var HEAT = 24; // heatmap resolution (smoothed when drawn)
  // fixed-scale arrows (as GAN Lab): a per-sample gradient |dl/dx| of ARROW_REF is drawn 5% of
  // the plot wide, whatever the frame; so the arrows shrink, then vanish, as D saturates
  var ARROW_REF = 0.5;

  function sigmoid(a) { return 1 / (1 + Math.exp(-a)); }
  function fmt(x, digits) {
    if (!isFinite(x)) return String(x);
    var ax = Math.abs(x);
    if (ax !== 0 && (ax < 1e-3 || ax >= 1e4)) return x.toExponential(1);
    return x.toFixed(digits === undefined ? 3 : digits);
  }
  function quantile(values, q) {
    var v = Array.prototype.slice.call(values).sort(function (a, b) { return a - b; });
    return v.length ? v[Math.min(v.length - 1, Math.floor(q * v.length))] : 0;
  }

  /** A canvas (attributes attrs) whose backing store is w x h CSS pixels times the device
   *  pixel ratio (at most 2); gdW and gdH are its size in CSS pixels. */
  function hiDpiCanvas(w, h, attrs) {
    var c = document.createElement('canvas');
    for (var k in attrs || {}) c.setAttribute(k, attrs[k]);
    var r = Math.min(window.devicePixelRatio || 1, 2);
    c.width = Math.round(w * r);
    c.height = Math.round(h * r);
    c.gdScale = r;
    c.gdW = w;
    c.gdH = h;
    return c;
  }
  /** The 2-D context of a hiDpiCanvas, in CSS pixels. */
  function ctx2d(c) {
    var g = c.getContext('2d');
    g.setTransform(c.gdScale, 0, 0, c.gdScale, 0, 0);
    return g;
  }

  // ------------------------------------------------------------------------------------------
  // The discriminator's heatmap
  // ------------------------------------------------------------------------------------------

  /** The n * n points (row by row from the top left, n * n * 2) of the plot [-v, v]^2 where
   *  the heatmap evaluates D: the centres of its pixels. */
  function heatGrid(v, n) {
    n = n === undefined ? HEAT : n;
    var X = new Float64Array(2 * n * n);
    for (var i = 0; i < n; i++) {
      for (var j = 0; j < n; j++) {
        X[2 * (i * n + j)] = -v + 2 * v * (j + 0.5) / n;
        X[2 * (i * n + j) + 1] = v - 2 * v * (i + 0.5) / n;
      }
    }
    return X;
  }

  /** D's heatmap value in [0, 1] of the output a under the loss name (and how it is scaled, for
   *  the legend); out: the outputs in view (a critic is scaled to their range). */
  /** How D's outputs out are shown for the loss name: the loss's view (gd_live.js LOSSES). */
  function heatScale(name, out) {
    var view = root.GdLive.LOSSES[name].view;
    if (view.sigmoid) return { f: sigmoid, text: view.text };
    var lo = view.lo, hi = view.hi;
    if (lo === undefined) { lo = quantile(out, 0.02); hi = quantile(out, 0.98); }
    var span = hi - lo || 1;
    return { f: function (a) { return Math.min(1, Math.max(0, (a - lo) / span)); }, text: view.text };
  }

  /** Paint D's outputs out at the heatGrid points into the small canvas heat (n x n pixels),
   *  scaled for the loss name; returns the scale's words for the legend. */
  function paintHeat(heat, out, name) {
    var n = heat.width, hs = heatScale(name, out);
    var hg = heat.getContext('2d'), img = hg.createImageData(n, n);
    for (var p = 0; p < n * n; p++) {
      var s = hs.f(out[p]), r, gg, bb, q;
      if (!isFinite(s)) s = 0.5;
      // low: pale lilac, 0.5: white, high: green (D's colour)
      if (s >= 0.5) { q = (s - 0.5) * 2; r = 255 - q * 150; gg = 255 - q * 55; bb = 255 - q * 150; }
      else { q = (0.5 - s) * 2; r = 255 - q * 28; gg = 255 - q * 50; bb = 255 - q * 12; }
      img.data[4 * p] = r; img.data[4 * p + 1] = gg; img.data[4 * p + 2] = bb; img.data[4 * p + 3] = 255;
    }
    hg.putImageData(img, 0, 0);
    return hs.text;
  }

  // ------------------------------------------------------------------------------------------
  // The samples plot
  // ------------------------------------------------------------------------------------------

  /**
   * Draw the plot of [-s.view, s.view]^2 on the hiDpiCanvas c. The scene s: view, hasData,
   * layers {heatmap, manifold, real, fake, arrows}, colors {real, fake}; with data also heat
   * (the painted heat canvas) and heatText, lines (the latent grid through G, lineShape[0]
   * lines of lineShape[1] points), real and fake (points, flat x, y), grad (d L_G / d x at the
   * first grad.length / 2 fake points), arrowsFixed (fixed scale, else normalised), modes
   * ({centers, numModes, std}: circles of 3 std; null for drawn data), and for drawn data
   * drawn: {points, std, clusterRadius, numModes}.
   * Returns {legend: its words, arrowLengths: per arrow in CSS pixels before the 1.5 px cut
   * (undefined when no arrows were measured)}.
   */
  function plot(c, s) {
    var g = ctx2d(c), W = c.gdW, H = c.gdH, v = s.view, colors = s.colors;
    var sx = function (x) { return (x + v) / (2 * v) * W; };
    var sy = function (y) { return (v - y) / (2 * v) * H; };
    g.fillStyle = '#fff';
    g.fillRect(0, 0, W, H);
    var legend = [], arrowLengths;
    // the discriminator's heatmap
    if (s.layers.heatmap && s.hasData) {
      g.imageSmoothingEnabled = true;
      g.drawImage(s.heat, 0, 0, W, H);
      legend.push('background: ' + s.heatText + ', green = judged real');
    }
    g.strokeStyle = 'rgba(0,0,0,0.12)';
    g.lineWidth = 1;
    g.beginPath();
    g.moveTo(sx(0), 0); g.lineTo(sx(0), H); g.moveTo(0, sy(0)); g.lineTo(W, sy(0));
    g.stroke();
    if (!s.hasData) {
      g.fillStyle = '#555';
      g.font = '14px system-ui, sans-serif';
      g.textAlign = 'center';
      g.fillText('click or drag here to draw data', W / 2, H / 2 - 10);
      g.textAlign = 'left';
      return { legend: 'Draw points: each becomes a Gaussian (std ' + s.drawn.std + ').',
        arrowLengths: arrowLengths };
    }
    // the generator manifold: the latent grid warped by G
    if (s.layers.manifold) {
      var Y = s.lines, nl = s.lineShape[0], np = s.lineShape[1];
      g.strokeStyle = 'rgba(60,60,60,0.3)';
      g.lineWidth = 0.8;
      g.beginPath();
      for (var l = 0; l < nl; l++) {
        for (var k = 0; k < np; k++) {
          var idx = 2 * (l * np + k), px = sx(Y[idx]), py = sy(Y[idx + 1]);
          if (k === 0) g.moveTo(px, py); else g.lineTo(px, py);
        }
      }
      g.stroke();
      legend.push('grey: the latent grid through G');
    }
    var dot = function (pts, color, rad) {
      g.fillStyle = color;
      for (var a = 0; a < pts.length / 2; a++) {
        var x = sx(pts[2 * a]), y = sy(pts[2 * a + 1]);
        if (!isFinite(x) || !isFinite(y)) continue;
        g.fillRect(x - rad, y - rad, 2 * rad, 2 * rad);
      }
    };
    if (s.layers.real) {
      g.globalAlpha = 0.55;
      dot(s.real, colors.real, 1.6);
      g.globalAlpha = 1;
      if (s.drawn) {
        var pts = s.drawn.points;
        g.strokeStyle = colors.real;
        g.lineWidth = 1;
        for (var dp = 0; dp < pts.length / 2; dp++) {
          g.beginPath();
          g.arc(sx(pts[2 * dp]), sy(pts[2 * dp + 1]), 3 * s.drawn.std / (2 * v) * W, 0, 2 * Math.PI);
          g.stroke();
        }
      }
    }
    // generated points (moving-average weights, fixed latent codes) and their gradients
    var fake = s.fake, sg = s.grad;
    if (s.layers.fake) {
      g.globalAlpha = 0.75;
      dot(fake, colors.fake, 1.7);
      g.globalAlpha = 1;
    }
    if (s.layers.real && s.modes) { // the modes: circles of 3 std
      var T = s.modes, rad = Math.max(4, 3 * T.std / (2 * v) * W);
      g.strokeStyle = colors.real;
      g.lineWidth = 1.3;
      for (var mc = 0; mc < T.numModes; mc++) {
        g.beginPath();
        g.arc(sx(T.centers[2 * mc]), sy(T.centers[2 * mc + 1]), rad, 0, 2 * Math.PI);
        g.stroke();
      }
      legend.push('blue circles: the modes (3 std)');
    }
    if (s.layers.arrows) {
      var na = sg.length / 2, norms = new Float64Array(na);
      for (var ai = 0; ai < na; ai++) norms[ai] = Math.hypot(sg[2 * ai], sg[2 * ai + 1]);
      // fixed: |dl/dx| per sample (sampleGrad is of the batch mean: times na) against ARROW_REF
      var fixed = s.arrowsFixed;
      var ref = fixed ? ARROW_REF / na : quantile(norms, 0.9);
      arrowLengths = new Float64Array(na); // in CSS pixels, before the 1.5 px cut
      if (ref > 0 && isFinite(ref)) {
        var len = 0.05 * W, maxLen = 0.09 * W;
        g.strokeStyle = g.fillStyle = 'rgba(20,20,20,0.8)';
        g.lineWidth = 1;
        for (ai = 0; ai < na; ai++) {
          if (!(norms[ai] > 0)) continue;
          var x0 = sx(fake[2 * ai]), y0 = sy(fake[2 * ai + 1]);
          if (!isFinite(x0) || !isFinite(y0)) continue;
          var len1 = Math.min(maxLen, len * norms[ai] / ref);
          arrowLengths[ai] = len1;
          if (len1 < 1.5) continue;
          // the descent direction -grad, in screen coordinates (y flipped)
          var ux = -sg[2 * ai] / norms[ai], uy = sg[2 * ai + 1] / norms[ai];
          var x1 = x0 + len1 * ux, y1 = y0 + len1 * uy, hl = Math.min(4, 0.45 * len1);
          g.beginPath();
          g.moveTo(x0, y0); g.lineTo(x1, y1);
          g.stroke();
          g.beginPath();
          g.moveTo(x1, y1);
          g.lineTo(x1 - hl * (ux - 0.5 * uy), y1 - hl * (uy + 0.5 * ux));
          g.lineTo(x1 - hl * (ux + 0.5 * uy), y1 - hl * (uy - 0.5 * ux));
          g.closePath();
          g.fill();
        }
      }
      legend.push('arrows: \u2212\u2202L_G/\u2202x at ' + na + ' generated points (descent; ' +
        (fixed ? 'fixed scale: length proportional to the gradient, so they vanish as D saturates)'
          : 'length relative, rescaled each frame)'));
    }
    // key and scale
    g.font = '11px system-ui, sans-serif';
    g.textBaseline = 'middle';
    var w1 = g.measureText('real').width, w2 = g.measureText('generated').width;
    g.fillStyle = 'rgba(255,255,255,0.85)';
    g.fillRect(4, 4, w1 + w2 + 40, 18);
    g.fillStyle = colors.real; g.fillRect(9, 10, 6, 6);
    g.fillStyle = '#222'; g.fillText('real', 18, 13);
    g.fillStyle = colors.fake; g.fillRect(26 + w1, 10, 6, 6);
    g.fillStyle = '#222'; g.fillText('generated', 35 + w1, 13);
    g.fillStyle = 'rgba(0,0,0,0.55)';
    g.textAlign = 'right';
    g.fillText('[\u2212' + v + ', ' + v + ']\u00b2', W - 5, H - 9);
    g.textAlign = 'left';
    g.textBaseline = 'alphabetic';
    var note = '';
    if (s.drawn) {
      var nPts = s.drawn.points.length / 2, nm = s.drawn.numModes;
      note = ' Modes: the ' + nm + (nm === 1 ? ' cluster' : ' clusters') + ' of the ' + nPts +
        (nPts === 1 ? ' drawn point' : ' drawn points') + ' (points closer than ' +
        s.drawn.clusterRadius.toFixed(1) + ', whose circles touch, are one cluster).';
    }
    return { legend: legend.join('; ') + '.' + note, arrowLengths: arrowLengths };
  }

  // ------------------------------------------------------------------------------------------
  // Charts
  // ------------------------------------------------------------------------------------------

  /** One small line chart on the hiDpiCanvas c: series [{y, color, label, fmt, dash, width}]
   *  against the steps xs, options {title, lo, hi, log, refs}. */
  function chart(c, xs, series, opts) {
    var g = ctx2d(c), W = c.gdW, H = c.gdH, padL = 34, padR = 6, padT = 18, padB = 14;
    g.fillStyle = '#fff';
    g.fillRect(0, 0, W, H);
    var tr = opts.log ? function (y) { return y > 0 ? Math.log10(y) : NaN; } : function (y) { return y; };
    var lo = opts.lo, hi = opts.hi;
    if (lo === undefined || hi === undefined) {
      var vals = [];
      series.forEach(function (s) {
        for (var i = 0; i < s.y.length; i++) { var v = tr(s.y[i]); if (isFinite(v)) vals.push(v); }
      });
      if (vals.length) {
        // robust range: 1st to 99th percentile (spikes clip at the edge)
        var a = quantile(vals, 0.01), b = quantile(vals, 0.99);
        if (lo === undefined) lo = a;
        if (hi === undefined) hi = b;
      } else { lo = 0; hi = 1; }
      if (hi - lo < 1e-9) { hi += 0.5; lo -= 0.5; }
      var padY = 0.06 * (hi - lo);
      if (opts.lo === undefined) lo -= padY;
      if (opts.hi === undefined) hi += padY;
    }
    var xmax = Math.max(1, xs.length ? xs[xs.length - 1] : 1);
    var px = function (x) { return padL + (W - padL - padR) * x / xmax; };
    var py = function (y) { return padT + (H - padT - padB) * (1 - (y - lo) / (hi - lo)); };
    g.strokeStyle = '#ddd';
    g.lineWidth = 1;
    g.strokeRect(padL, padT, W - padL - padR, H - padT - padB);
    (opts.refs || []).forEach(function (r) {
      g.strokeStyle = '#bbb'; g.setLineDash([3, 3]);
      g.beginPath(); g.moveTo(padL, py(r)); g.lineTo(W - padR, py(r)); g.stroke();
      g.setLineDash([]);
    });
    g.font = '10px system-ui, sans-serif';
    g.fillStyle = '#666';
    g.textAlign = 'right';
    var lab = function (v) {
      if (!opts.log) return fmt(v, Math.abs(hi - lo) < 2 ? 2 : 1);
      var y = Math.pow(10, v);
      return y < 0.01 ? y.toExponential(0) : fmt(y, 2); // not '0.00' on a log axis
    };
    g.fillText(lab(hi), padL - 3, padT + 7);
    g.fillText(lab(lo), padL - 3, H - padB);
    g.textAlign = 'right';
    g.fillText(String(xs.length ? xs[xs.length - 1] : 0), W - padR, H - 3);
    g.textAlign = 'left';
    g.fillText('0', padL, H - 3);
    g.save();
    g.beginPath();
    g.rect(padL, padT - 1, W - padL - padR, H - padT - padB + 2);
    g.clip();
    series.forEach(function (s) {
      g.strokeStyle = s.color;
      g.lineWidth = s.width || 1.1;
      g.setLineDash(s.dash || []);
      g.beginPath();
      var pen = false;
      for (var i = 0; i < xs.length; i++) {
        var v = tr(s.y[i]);
        if (!isFinite(v)) { pen = false; continue; }
        var X = px(xs[i]), Y = py(Math.min(hi, Math.max(lo, v)));
        if (pen) g.lineTo(X, Y); else { g.moveTo(X, Y); pen = true; }
      }
      g.stroke();
    });
    g.restore();
    g.setLineDash([]);
    // title with the latest values
    g.font = '11px system-ui, sans-serif';
    var x = 4;
    g.fillStyle = '#222';
    g.fillText(opts.title, x, 12);
    x += g.measureText(opts.title).width + 6;
    series.forEach(function (s) {
      if (!s.label) return;
      var last = s.y.length ? s.y[s.y.length - 1] : NaN;
      var text = s.label + (s.fmt ? s.fmt(last) : (isFinite(last) ? fmt(last, 3) : '\u2013'));
      g.fillStyle = s.color;
      g.fillText(text, x, 12);
      x += g.measureText(text).width + 6;
    });
  }

  /** The widget's four charts (canvases {loss, dgz, gnorm, modes}): the history h of every
   *  training step {step, dLoss, gLoss, dgz, gnorm}, the metric's mh {step, modes, hq}, out of
   *  K modes, in the colours {real, fake, d, grey}. */
  function charts(canvases, h, mh, K, colors) {
    chart(canvases.loss, h.step, [
      { y: h.dLoss, color: colors.d, label: 'D ' },
      { y: h.gLoss, color: colors.fake, label: 'G ' }
    ], { title: 'loss' });
    chart(canvases.dgz, h.step, [
      { y: h.dgz, color: colors.fake, label: '' }
    ], { title: 'mean D(G(z))', lo: 0, hi: 1, refs: [0.5] });
    chart(canvases.gnorm, h.step, [
      { y: h.gnorm, color: colors.fake, label: '', fmt: function (v) { return isFinite(v) ? v.toExponential(1) : '\u2013'; } }
    ], { title: '\u2016\u2207G\u2016 (log)', log: true });
    var modesFrac = mh.modes.map(function (m) { return m / K; });
    chart(canvases.modes, mh.step, [
      { y: modesFrac, color: colors.real, label: 'modes ', width: 1.5,
        fmt: function () { return mh.modes.length ? mh.modes[mh.modes.length - 1] + '/' + K : '\u2013'; } },
      { y: mh.hq, color: colors.grey, label: 'HQ ', dash: [4, 2],
        fmt: function (v) { return isFinite(v) ? v.toFixed(2) : '\u2013'; } }
    ], { title: '', lo: 0, hi: 1 });
  }

  root.GdLiveDraw = {
    HEAT: HEAT,
    ARROW_REF: ARROW_REF,
    sigmoid: sigmoid,
    fmt: fmt,
    quantile: quantile,
    hiDpiCanvas: hiDpiCanvas,
    ctx2d: ctx2d,
    heatGrid: heatGrid,
    heatScale: heatScale,
    paintHeat: paintHeat,
    plot: plot,
    chart: chart,
    charts: charts
  };
})(typeof window !== 'undefined' ? window : null);
