function compute(a, b) {
  return a * b;
}

function applyAll(items) {
  return items.map((x) => compute(x, 5));
}

module.exports = { compute, applyAll };
