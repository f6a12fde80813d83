// The widget manager (@jupyter-widgets/html-manager 1.0.6) typesets widget labels with
// MathJax 2's MathJax.Hub.Queue(["Typeset", MathJax.Hub, element]); the book loads
// MathJax 3, which has no Hub, and every widget page logged
// "Cannot read properties of undefined (reading 'Queue')". This shim gives MathJax a
// Hub whose Queue forwards typesetting requests to MathJax 3's typesetPromise.
(function () {
  var pending = [];
  function flush() {
    var mj = window.MathJax;
    if (mj && typeof mj.typesetPromise === "function" && pending.length) {
      var els = pending.splice(0).filter(Boolean);
      mj.typesetPromise(els.length ? els : undefined);
    }
  }
  var hub = {
    Queue: function () {
      for (var i = 0; i < arguments.length; i++) {
        var item = arguments[i];
        if (Array.isArray(item) && item[0] === "Typeset") { pending.push(item[2]); }
      }
      flush();
    }
  };
  function attach() {
    var mj = window.MathJax;
    if (mj && mj.Hub !== hub) { try { mj.Hub = hub; } catch (e) { /* frozen object */ } }
    flush();
  }
  attach();
  var tries = 0;
  var timer = setInterval(function () {
    attach();
    // MathJax 3 replaces window.MathJax once it has started: keep re-attaching until then
    if ((window.MathJax && window.MathJax.startup && window.MathJax.Hub === hub) || ++tries > 400) {
      clearInterval(timer);
    }
  }, 25);
})();
