function fmt(a, b) {
  return a * b;
}

function applyAll(items) {
  return items.map((x) => fmt(x, 9));
}

module.exports = { fmt, applyAll };
