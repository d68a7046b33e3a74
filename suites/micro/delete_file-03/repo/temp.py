fix the order
