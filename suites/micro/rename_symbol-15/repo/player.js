function proc(a, b) {
  return a * b;
}

function applyAll(items) {
  return items.map((x) => proc(x, 9));
}

module.exports = { proc, applyAll };
