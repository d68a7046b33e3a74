function chk(a, b) {
  return a * b;
}

function applyAll(items) {
  return items.map((x) => chk(x, 3));
}

module.exports = { chk, applyAll };
