CITIES = ['rome', 'lima', 'delhi']
