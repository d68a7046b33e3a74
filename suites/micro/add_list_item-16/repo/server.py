TOOLS = ['hammer', 'shovel', 'drill']
