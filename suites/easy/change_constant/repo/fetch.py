from config import MAX_RETRIES


def fetch(url):
    for attempt in range(MAX_RETRIES):
        print('try', attempt, url)
