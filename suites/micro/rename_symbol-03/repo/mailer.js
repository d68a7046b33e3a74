function load(a, b) {
  return a - b;
}

function applyAll(items) {
  return items.map((x) => load(x, 2));
}

module.exports = { load, applyAll };
