"""Rudder's terminal UI (Textual): the agent's transcript, approvals, modes and steering, live.

    app.py        the App: loads the model in a worker, then shows the main screen
    bridge.py     the one place that talks to the agent.Session (on worker threads)
    messages.py   agent events turned into Textual Messages at the edge
    screens/      one screen per file, each with its .tcss beside it
    widgets/      one widget per file (transcript blocks, mode bar, steering panel, status line, prompt)
    dialogs/      modals: approval, mode picker, sessions
UI code never touches llama.cpp: it gets an Engine from the factory and hands it to the Session.
"""
