send the meeting
