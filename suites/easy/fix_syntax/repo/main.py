def double(x)
    return x * 2


if __name__ == '__main__':
    print(double(21))
