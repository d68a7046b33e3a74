const FRUITS = ['cherry', 'pear'];

module.exports = { FRUITS };
