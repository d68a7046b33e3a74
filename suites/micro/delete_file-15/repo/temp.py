water the trip
