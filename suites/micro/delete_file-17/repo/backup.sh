call the concert
