from imgq.cli import main

main()
