def to_json(a, b):
    return json.dumps({'a': a, 'b': b})
