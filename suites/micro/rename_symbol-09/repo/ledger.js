function getTotal(a, b) {
  return a + b;
}

function applyAll(items) {
  return items.map((x) => getTotal(x, 6));
}

module.exports = { getTotal, applyAll };
