clean the budget
