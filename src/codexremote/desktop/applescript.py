"""The AppleScript programs the macOS bridge runs, as constant text.

Nothing from a request is ever put into script text: every value (app name,
bundle id, project and chat titles) reaches the script as an ``on run argv``
argument, so quotes, backslashes or newlines in a title cannot change the
program. The first argument is always :data:`ARGV_SENTINEL`, a constant that
does not start with ``-``, so osascript's option parser stops before any
value we pass (a title like ``-e ...`` stays an argument).

Argument layout (``item N of argv``):

- ``ACTIVATE_SCRIPT``: 1 sentinel, 2 app name, 3 bundle id or "", 4 poll steps
  (0.2 s apart) to wait for the app to be running. Prints ``activated``; exits 1
  when the app is not running.
- ``REVEAL_SCRIPT``: 1 sentinel, 2 app name, 3 bundle id or "", 4 number of
  Cmd+Down presses (0.15 s apart). Prints ``revealed``.
- ``RELOAD_SCRIPT``: 1 sentinel, 2 app name, 3 bundle id or "". Presses Cmd+R.
  Prints ``reloaded``.
- ``SELECT_SCRIPT``: 1 sentinel, 2 app name, 3 bundle id or "", 4 project
  title, 5 chat title, 6 fallback chat title (each "" when unknown), 7 number of
  Cmd+Down presses afterwards. Prints ``selected_chat``, ``selected_project`` or
  ``focused``.

The System Events scripts need the Accessibility permission (and Automation of
System Events) for the program that runs the companion; see docs/desktop.md.
"""

from __future__ import annotations

ARGV_SENTINEL = "codexremote-desktop-sync"

ACTIVATE_SCRIPT = """\
on run argv
    set appName to item 2 of argv
    set bundleId to item 3 of argv
    set waitSteps to (item 4 of argv) as integer
    if bundleId is not "" then
        set theApp to application id bundleId
    else
        set theApp to application appName
    end if
    repeat waitSteps times
        if running of theApp then exit repeat
        delay 0.2
    end repeat
    if not (running of theApp) then error "the app is not running" number 1
    tell theApp to activate
    return "activated"
end run
"""

# Shared by the System Events scripts: the app's process, by bundle id first.
_FIND_PROCESS = """
on findProcess(appName, bundleId)
    tell application "System Events"
        if bundleId is not "" then
            set found to (application processes whose bundle identifier is bundleId)
            if (count of found) > 0 then return item 1 of found
        end if
        return application process appName
    end tell
end findProcess
"""

REVEAL_SCRIPT = (
    """\
on run argv
    set proc to my findProcess(item 2 of argv, item 3 of argv)
    set pressCount to (item 4 of argv) as integer
    tell application "System Events"
        set frontmost of proc to true
        delay 0.1
        repeat pressCount times
            key code 125 using command down
            delay 0.15
        end repeat
    end tell
    return "revealed"
end run
"""
    + _FIND_PROCESS
)

RELOAD_SCRIPT = (
    """\
on run argv
    set proc to my findProcess(item 2 of argv, item 3 of argv)
    tell application "System Events"
        set frontmost of proc to true
        delay 0.1
        keystroke "r" using command down
    end tell
    return "reloaded"
end run
"""
    + _FIND_PROCESS
)

# Walks the front window's accessibility tree breadth first, one bulk Apple event
# per attribute per parent, pruning everything right of the sidebar line (the
# transcript is most of the tree), and clicks the left-most element whose
# name/title/value/AXDescription equals the wanted text.
SELECT_SCRIPT = (
    """\
property parentLimit : 1500
property sidebarShare : 0.45

on run argv
    set appName to item 2 of argv
    set bundleId to item 3 of argv
    set projectTitle to item 4 of argv
    set chatTitle to item 5 of argv
    set fallbackTitle to item 6 of argv
    set revealCount to (item 7 of argv) as integer
    set proc to my findProcess(appName, bundleId)
    tell application "System Events"
        set frontmost of proc to true
        delay 0.2
        if (count of windows of proc) is 0 then return "focused"
        set win to window 1 of proc
        set winPos to position of win
        set winSize to size of win
    end tell
    set maxX to (item 1 of winPos) + (item 1 of winSize) * sidebarShare
    set outcome to "focused"
    if chatTitle is not "" then
        if my selectChat(win, maxX, chatTitle, fallbackTitle) then set outcome to "selected_chat"
    end if
    if outcome is "focused" and projectTitle is not "" then
        if my pressElement(my findLeftmost(win, maxX, projectTitle)) then
            set outcome to "selected_project"
            delay 0.4
            if chatTitle is not "" then
                if my selectChat(win, maxX, chatTitle, fallbackTitle) then
                    set outcome to "selected_chat"
                end if
            end if
        end if
    end if
    if revealCount > 0 then
        tell application "System Events"
            repeat revealCount times
                key code 125 using command down
                delay 0.15
            end repeat
        end tell
    end if
    return outcome
end run

on selectChat(win, maxX, chatTitle, fallbackTitle)
    if my findLeftmost(win, maxX, chatTitle) is missing value then return false
    if fallbackTitle is not "" then
        if my pressElement(my findLeftmost(win, maxX, fallbackTitle)) then delay 0.4
    end if
    return my pressElement(my findLeftmost(win, maxX, chatTitle))
end selectChat

on itemOr(theList, i)
    if (count of theList) >= i then return item i of theList
    return missing value
end itemOr

on sameText(candidate, wanted)
    if candidate is missing value then return false
    try
        return ((candidate as text) is wanted)
    end try
    return false
end sameText

on anyMatches(textLists, j, wanted)
    repeat with oneList in textLists
        if my sameText(my itemOr(contents of oneList, j), wanted) then return true
    end repeat
    return false
end anyMatches

on findLeftmost(root, maxX, wanted)
    set queue to {root}
    set i to 1
    set bestEl to missing value
    set bestX to maxX
    repeat while i <= (count of queue) and i <= parentLimit
        set el to item i of queue
        set i to i + 1
        set kids to {}
        set xs to {}
        set ns to {}
        set ts to {}
        set vs to {}
        set ds to {}
        tell application "System Events"
            try
                set kids to UI elements of el
            end try
        end tell
        if (count of kids) > 0 then
            tell application "System Events"
                try
                    set xs to position of UI elements of el
                end try
                try
                    set ns to name of UI elements of el
                end try
                try
                    set ts to title of UI elements of el
                end try
                try
                    set vs to value of UI elements of el
                end try
                try
                    set ds to value of attribute "AXDescription" of UI elements of el
                end try
            end tell
        end if
        repeat with j from 1 to (count of kids)
            set kx to missing value
            try
                set kx to item 1 of (my itemOr(xs, j))
            end try
            if kx is missing value or kx < maxX then
                set kid to item j of kids
                if kx is not missing value and kx < bestX then
                    if my anyMatches({ns, ts, vs, ds}, j, wanted) then
                        set bestX to kx
                        set bestEl to kid
                    end if
                end if
                set end of queue to kid
            end if
        end repeat
    end repeat
    return bestEl
end findLeftmost

on pressElement(el)
    if el is missing value then return false
    set pressTarget to el
    tell application "System Events"
        repeat 9 times
            try
                if (name of actions of pressTarget) contains "AXPress" then
                    perform action "AXPress" of pressTarget
                    return true
                end if
            end try
            try
                set pressTarget to value of attribute "AXParent" of pressTarget
            on error
                exit repeat
            end try
        end repeat
        try
            click el
            return true
        end try
    end tell
    return false
end pressElement
"""
    + _FIND_PROCESS
)
