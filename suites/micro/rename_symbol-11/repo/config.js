function load(a, b) {
  return a - b;
}

function applyAll(items) {
  return items.map((x) => load(x, 6));
}

module.exports = { load, applyAll };
