call the lesson
