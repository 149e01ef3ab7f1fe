from ehr.cli import main

main()
