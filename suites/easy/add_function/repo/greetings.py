def farewell(name):
    return 'Bye, ' + name
