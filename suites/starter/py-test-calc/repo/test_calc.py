from calc import average

assert average([2, 4, 6]) == 4, average([2, 4, 6])
print('ok')
