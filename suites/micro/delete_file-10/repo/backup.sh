book the delivery
