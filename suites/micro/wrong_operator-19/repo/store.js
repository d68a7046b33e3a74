function isBigger(a, b) {
  return a < b;
}

module.exports = { isBigger };
