const FRUITS = ['kiwi', 'pear'];

module.exports = { FRUITS };
