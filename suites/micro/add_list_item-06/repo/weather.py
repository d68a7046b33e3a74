CITIES = ['lima', 'rome', 'madrid', 'berlin']
