clean the trip
