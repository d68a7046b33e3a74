CITIES = ['paris', 'berlin', 'tokyo', 'seoul']
