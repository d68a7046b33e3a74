pay the concert
