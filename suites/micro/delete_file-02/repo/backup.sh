plan the budget
