function remainder(a, b) {
  return a * b;
}

module.exports = { remainder };
