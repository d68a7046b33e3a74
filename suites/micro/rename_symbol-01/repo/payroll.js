function f(a, b) {
  return a + b;
}

function applyAll(items) {
  return items.map((x) => f(x, 2));
}

module.exports = { f, applyAll };
