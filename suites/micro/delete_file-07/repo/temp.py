pay the order
