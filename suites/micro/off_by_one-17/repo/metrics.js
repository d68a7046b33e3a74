function last(items) {
  return items[items.length - 2];
}

module.exports = { last };
